"""What the synthetic customers are: markets, names, what they write, and the demo agent team.

Every text is detected by the real detector at the level it is filed under (tests/seed checks it),
so the tag events the seed derives from them carry the phrases the service would have matched.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Market:
    prefix: str  # country calling code plus the start of a mobile range
    base: int  # the local part is base + contact id, so numbers stay valid and never collide
    width: int
    language: str
    currency: str
    share: float

    def number(self, contact_id: int) -> str:
        return self.prefix + str(self.base + contact_id).zfill(self.width)


MARKETS = (
    Market("49", 15_100_000_000, 11, "de", "EUR", 0.12),
    Market("1650", 2_000_000, 7, "en", "USD", 0.08),
    Market("1212", 2_000_000, 7, "en", "USD", 0.06),
    Market("447", 400_000_000, 9, "en", "GBP", 0.06),
    Market("5511", 900_000_000, 9, "pt", "BRL", 0.12),
    Market("52", 5_500_000_000, 10, "es", "MXN", 0.08),
    Market("34", 612_000_000, 9, "es", "EUR", 0.06),
    Market("33", 612_000_000, 9, "fr", "EUR", 0.06),
    Market("62", 81_200_000_000, 11, "id", "IDR", 0.10),
    Market("91", 9_870_000_000, 10, "hi", "INR", 0.10),
    Market("971", 500_000_000, 9, "ar", "AED", 0.06),
    Market("86", 13_800_000_000, 11, "zh", "CNY", 0.05),
    Market("84", 912_000_000, 9, "vi", "VND", 0.05),
)

FIRST_NAMES = {
    "de": ("Anna", "Lukas", "Mia", "Jonas", "Lea", "Felix"),
    "en": ("Olivia", "James", "Emma", "Noah", "Ava", "Liam"),
    "pt": ("Ana", "João", "Beatriz", "Pedro", "Larissa", "Gabriel"),
    "es": ("Lucía", "Mateo", "Sofía", "Diego", "Valentina", "Javier"),
    "fr": ("Chloé", "Louis", "Camille", "Hugo", "Léa", "Lucas"),
    "id": ("Putri", "Budi", "Dewi", "Agus", "Siti", "Rizky"),
    "hi": ("Priya", "Rahul", "Ananya", "Arjun", "Kavya", "Vikram"),
    "ar": ("Fatima", "Omar", "Layla", "Yousef", "Noor", "Khalid"),
    "zh": ("Wang Fang", "Li Wei", "Zhang Min", "Liu Yang", "Chen Jing", "Zhao Lei"),
    "vi": ("Nguyễn Lan", "Trần Minh", "Lê Hoa", "Phạm Tuấn", "Hoàng Mai", "Vũ Nam"),
}

# (name, IANA zone): the demo team, one agent per region; more agents reuse the names numbered.
AGENTS = (
    ("anna", "Europe/Berlin"),
    ("bruno", "America/Sao_Paulo"),
    ("dewi", "Asia/Jakarta"),
    ("emma", "America/New_York"),
    ("gaurav", "Asia/Kolkata"),
    ("farah", "Asia/Dubai"),
    ("chen", "Asia/Shanghai"),
    ("hugo", "Europe/Paris"),
    ("ines", "America/Mexico_City"),
    ("linh", "Asia/Ho_Chi_Minh"),
)

CATEGORIES = ("3c", "baby", "beauty", "fashion", "home")
INTERESTS = (
    "discount_sensitive",
    "novelty_seeking",
    "function_oriented",
    "content_learner",
    "brand_loyal",
)

# level -> language -> texts. "comparison" is medium intent with a comparison word (orange -> red);
# "hello" carries no intent at all.
TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "high": {
        "en": (
            "How much is the 20000 mAh power bank?",
            "Is the stroller in stock?",
            "Any discount on the earbuds?",
        ),
        "de": (
            "Was kostet die Powerbank?",
            "Ist der Kinderwagen auf Lager?",
            "Gibt es einen Rabatt?",
        ),
        "es": ("¿Cuánto cuesta el cargador?", "¿Hay stock de la carriola?", "¿Tienen descuento?"),
        "pt": ("Quanto custa o fone?", "Tem em estoque?", "Tem desconto?"),
        "fr": (
            "Combien coûte la batterie externe ?",
            "C'est disponible en stock ?",
            "Vous avez une promo ?",
        ),
        "id": ("Berapa harga powerbank ini?", "Ready stok kak?", "Ada diskon?"),
        "hi": ("Iska price kya hai?", "Stock mein hai?", "इसकी कीमत क्या है?"),
        "ar": ("كم السعر؟", "هل متوفر؟", "في خصم؟"),
        "zh": ("这个充电宝多少钱？", "有货吗？", "有优惠吗？"),
        "vi": ("Giá bao nhiêu vậy?", "Còn hàng không shop?", "Có giảm giá không?"),
    },
    "medium": {
        "en": ("What is the warranty?", "How heavy is the laptop?"),
        "de": ("Wie lange ist die Garantie?", "Welche Größe hat der Kinderwagen?"),
        "es": ("¿Cuánto tiempo de garantía tiene?", "¿Qué talla es?"),
        "pt": ("Qual a garantia?", "Qual o tamanho?"),
        "fr": ("Quelle est la garantie ?", "Quelle taille ?"),
        "id": ("Garansinya berapa lama?", "Ukurannya berapa?"),
        "hi": ("Warranty kitni hai?", "Size kya hai?"),
        "ar": ("كم مدة الضمان؟", "ما هو المقاس؟"),
        "zh": ("保修多久？", "尺寸是多少？"),
        "vi": ("Bảo hành bao lâu?", "Kích thước bao nhiêu?"),
    },
    "comparison": {
        "en": ("What is the difference between the X5 and the X7?",),
        "de": ("Was ist der Unterschied zwischen X5 und X7?",),
        "es": ("¿Cuál es la diferencia entre el X5 y el X7?",),
        "pt": ("Qual a diferença entre o X5 e o X7?",),
        "fr": ("Quelle est la différence entre le X5 et le X7 ?",),
        "id": ("Apa bedanya X5 dan X7?",),
        "hi": ("X5 aur X7 mein kya fark hai?",),
        "ar": ("ما الفرق بين X5 و X7؟",),
        "zh": ("X5和X7有什么区别？",),
        "vi": ("X5 và X7 khác nhau thế nào?",),
    },
    "potential": {
        "en": ("Thanks!", "ok 👍"),
        "de": ("Danke!", "Ok, super"),
        "es": ("¡Gracias!", "Vale"),
        "pt": ("Obrigado!", "Beleza"),
        "fr": ("Merci !", "D'accord"),
        "id": ("Terima kasih kak", "Oke"),
        "hi": ("Thank you", "धन्यवाद"),
        "ar": ("شكرا", "تمام"),
        "zh": ("谢谢", "好的"),
        "vi": ("Cảm ơn shop", "Ok ạ"),
    },
    "none": {
        "en": ("No thanks, not interested",),
        "de": ("Nein danke, kein Interesse",),
        "es": ("No gracias, no me interesa",),
        "pt": ("Não, obrigado. Não tenho interesse",),
        "fr": ("Non merci, pas intéressé",),
        "id": ("Tidak, terima kasih",),
        "hi": ("Nahi chahiye",),
        "ar": ("لا شكرا",),
        "zh": ("不需要，谢谢",),
        "vi": ("Không cần đâu",),
    },
    "hello": {
        "en": ("Hi",),
        "de": ("Hallo",),
        "es": ("Hola",),
        "pt": ("Oi",),
        "fr": ("Bonjour",),
        "id": ("Halo",),
        "hi": ("Namaste",),
        "ar": ("مرحبا",),
        "zh": ("你好",),
        "vi": ("Xin chào",),
    },
}

# The follow-up templates our side sends (outbound messages).
TEMPLATES = ("quote_followup", "spec_sheet", "monthly_news", "discount_offer")
