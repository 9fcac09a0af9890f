"""API shapes for CSV export and imports, with the examples /docs shows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

CONTACTS_CSV_EXAMPLE = (
    "wa_id,user_id,name,language,country,timezone,agent,opted_out\n"
    "4915112345678,,Jonas Weber,de,,,alice,\n"
    "5511987654321,BR.1020304050,Ana Souza,pt-BR,BR,America/Sao_Paulo,,false\n"
    ",US.13491208655302741918,Sam,en,US,America/New_York,bob,\n"
)
PURCHASES_CSV_EXAMPLE = (
    "wa_id,user_id,order_id,amount,currency,purchased_at,sku,category,quantity\n"
    "4915112345678,,SO-10042,129.90,EUR,2026-11-23T09:30:00Z,PB-20000,3c,1\n"
    "4915112345678,,SO-10042,129.90,EUR,2026-11-23T09:30:00Z,CABLE-USB-C,3c,2\n"
    ",US.13491208655302741918,SO-10043,2450.00,USD,2026-11-20T16:05:00-05:00,TENT-4P,outdoor,1\n"
)
EXPORT_CSV_EXAMPLE = (
    "wa_id,user_id,name,country,timezone,language,source,opted_out,agent,first_seen_at,"
    "last_inbound_at,activity,intent,status,lifecycle,engagement,spend_tier,purchase_frequency,"
    "interests,categories,windows\r\n"
    "4915112345678,,Jonas Weber,DE,Europe/Berlin,de,ctwa_ad,false,alice,2026-11-20T08:12:00Z,"
    "2026-11-23T07:40:00Z,high,high,red,high_potential,,,,discount_sensitive,3c|high_capacity,\r\n"
    '5511987654321,,\'=HYPERLINK("x"),BR,America/Sao_Paulo,pt,import,true,bob,'
    "2026-11-21T10:00:00Z,,,,,,,,,,,\r\n"
)


class ContactsImported(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dry_run": False, "rows": 3, "created": 2, "updated": 1, "unchanged": 0},
                {"dry_run": True, "rows": 3, "created": 0, "updated": 0, "unchanged": 3},
            ]
        }
    )

    dry_run: bool = Field(description="true: only checked, nothing stored")
    rows: int = Field(description="data rows read (blank lines not counted)")
    created: int = Field(description="new contacts (source import)")
    updated: int = Field(description="existing contacts that got empty fields filled or opted out")
    unchanged: int = Field(description="existing contacts the file had nothing new for")


class PurchasesImported(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"dry_run": False, "rows": 3, "orders": 2, "created": 2, "already_recorded": 0},
                {"dry_run": False, "rows": 3, "orders": 2, "created": 0, "already_recorded": 2},
            ]
        }
    )

    dry_run: bool = Field(description="true: only checked, nothing stored")
    rows: int = Field(description="data rows read (one per item)")
    orders: int = Field(description="distinct order_id values")
    created: int = Field(description="orders recorded now")
    already_recorded: int = Field(description="orders recorded before (same order_id): unchanged")


class ProblemRead(BaseModel):
    line: int = Field(description="the file's line where the row starts; 1 is the header")
    column: str | None
    message: str


class ImportRejected(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "invalid_csv",
                    "detail": "3 problems in the file; nothing was imported",
                    "problem_count": 3,
                    "problems": [
                        {
                            "line": 3,
                            "column": "wa_id",
                            "message": "'12' is not a possible phone number; give it with the "
                            "country code, e.g. 4915112345678",
                        },
                        {
                            "line": 4,
                            "column": "agent",
                            "message": "unknown agent 'carol'; the agents are: alice, bob",
                        },
                        {
                            "line": 6,
                            "column": "wa_id",
                            "message": "4915112345678 is on line 2 already",
                        },
                    ],
                }
            ]
        }
    )

    error: str = "invalid_csv"
    detail: str
    problem_count: int = Field(description="all problems; the list stops at the first 1000")
    problems: list[ProblemRead]
