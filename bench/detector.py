"""Throughput of the intent detector on one core over a generated mix of ten languages.

Run: .venv/bin/python bench/detector.py [--messages N] [--rounds R] [--seed S]
Prints messages per second, per CPU second of this process (what one core does) and per
wall-clock second, for the best and the median round, and the ratio of the best CPU rate to the
50,000 msg/s target: as with timeit, slower rounds measure what else the machine was doing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from app.tagging.intent import Detector

TARGET = 50_000

# Message shapes customers send, per language: {p} a product, {n} a number, {e} an emoji,
# {c} a city. Written for the benchmark, unrelated to the labelled sets.
TEMPLATES: dict[str, list[str]] = {
    "en": [
        "how much is the {p}?",
        "hey is the {p} still in stock {e}",
        "do you deliver to {c}? how many days",
        "any discount if i buy {n}?",
        "whats the battery life on the {p}",
        "does the {p} come with warranty",
        "ok thanks {e}",
        "no thanks, not interested",
        "STOP",
        "who is this",
        "i love your stuff, been buying for years. new {p} out yet?",
        "can i pay cash on delivery for the {p} {n}mAh",
        "pls remove me from this list",
        "{e}{e}",
    ],
    "de": [
        "was kostet {p}?",
        "habt ihr den {p} noch da?",
        "wie lange dauert der versand nach {c}",
        "gibts einen rabattcode?",
        "ist der {p} wasserdicht",
        "danke dir {e}",
        "nein danke, kein interesse",
        "bitte keine nachrichten mehr",
        "stopp",
        "wer ist das?",
        "kann ich den {p} zurückgeben, passt nicht",
        "hab schon 3x bei euch bestellt, gibts was neues?",
    ],
    "es": [
        "cuanto cuesta el {p}?",
        "hay stock del {p} en negro?",
        "cuanto tarda el envio a {c}",
        "tienen algun cupon? {e}",
        "el {p} es resistente al agua?",
        "vale gracias {e}",
        "no gracias, ya lo tengo",
        "dejen de mandarme mensajes",
        "BAJA",
        "quien habla?",
        "siempre compro aqui, hay algo nuevo?",
    ],
    "pt": [
        "quanto custa o {p}?",
        "ainda tem o {p} disponivel?",
        "qual o prazo de entrega pra {c}",
        "tem desconto no pix? {e}",
        "o {p} aguenta o dia todo?",
        "valeu, obrigado {e}",
        "nao obrigado, sem interesse",
        "para de me mandar mensagem",
        "SAIR",
        "quem é?",
        "sou fã da marca, chegou modelo novo?",
    ],
    "fr": [
        "c'est combien le {p} ?",
        "le {p} est dispo ?",
        "livraison à {c} en combien de jours ?",
        "vous avez un code promo ? {e}",
        "quelle est l'autonomie du {p} ?",
        "merci beaucoup {e}",
        "non merci, pas intéressé",
        "arrêtez de m'envoyer des messages",
        "stop",
        "c'est qui ?",
        "je peux échanger le {p} ?",
    ],
    "id": [
        "kak {p} harganya brp?",
        "{p} ready gk kak?",
        "ongkir ke {c} berapa ya",
        "ada diskon gk kak {e}",
        "{p} ini awet gk?",
        "oke kak makasih {e}",
        "gk minat kak",
        "tolong jangan kirim pesan lagi",
        "berhenti",
        "ini siapa ya?",
        "bisa retur kalau ukurannya gk pas?",
    ],
    "hi": [
        "bhai {p} kitne ka hai?",
        "{p} stock me hai kya",
        "delivery {c} tak kitne din me hogi",
        "koi offer hai kya {e}",
        "iski battery backup kaisi hai",
        "theek hai bhai {e}",
        "nahi chahiye bhai",
        "msg mat bhejo",
        "{p} की कीमत क्या है?",
        "धन्यवाद {e}",
        "मैसेज भेजना बंद करो",
        "आप कौन हो?",
    ],
    "ar": [
        "كم سعر {p}؟",
        "هل {p} متوفر؟",
        "التوصيل الى {c} كم يوم؟",
        "فيه خصم؟ {e}",
        "هل {p} مقاوم للماء؟",
        "شكرا {e}",
        "لا شكرا ما ابغى",
        "الغاء الاشتراك",
        "kam se3r el {p}?",
        "مين معي؟",
        "ابي ارجع {p}، المقاس ما ضبط",
    ],
    "zh": [
        "{p}多少钱？",
        "{p}还有货吗",
        "发{c}几天能到",
        "有优惠券吗{e}",
        "这个{p}续航怎么样",
        "好的谢谢{e}",
        "不用了，谢谢",
        "退订",
        "你是谁？",
        "我一直用你们家的，有新款吗",
        "{p}坏了可以换吗",
    ],
    "vi": [
        "{p} giá bao nhiêu vậy shop?",
        "{p} còn hàng ko shop",
        "ship về {c} mất mấy ngày",
        "có mã giảm giá ko shop {e}",
        "{p} pin dùng được bao lâu",
        "ok shop cảm ơn {e}",
        "thôi em ko mua đâu",
        "đừng nhắn nữa",
        "dừng",
        "ai vậy?",
        "áo này đổi size được ko",
    ],
}
PRODUCTS = [
    "power bank",
    "20000mAh powerbank",
    "iphone 15 case",
    "earbuds",
    "hair dryer",
    "stroller",
    "serum",
    "kettle",
    "smartwatch",
    "sneakers",
    "65W charger",
    "充电宝",
    "耳机",
    "sạc dự phòng",
    "سماعة",
    "पावरबैंक",
]
CITIES = ["Lagos", "Berlin", "Madrid", "Recife", "Lyon", "Medan", "Pune", "Riyadh", "广州", "Huế"]
EMOJI = ["👍", "🙏", "😊", "❤️", "😅", "🔥", "", "", "👍🏽"]


def _noise(text: str, rng: random.Random) -> str:
    """Chat habits: shouting, elongated letters, trailing marks."""
    roll = rng.random()
    if roll < 0.1:
        text = text.upper()
    elif roll < 0.2 and text:
        i = rng.randrange(len(text))
        if text[i].isalpha():
            text = text[:i] + text[i] * rng.randint(3, 6) + text[i + 1 :]
    if rng.random() < 0.15:
        text += rng.choice(["!!", "??", " pls", " 🙏", "..."])
    return text


def generate(count: int, seed: int) -> list[str]:
    """A varied mix in the ten languages, equally weighted."""
    rng = random.Random(seed)
    languages = sorted(TEMPLATES)
    messages = []
    for i in range(count):
        template = rng.choice(TEMPLATES[languages[i % len(languages)]])
        text = template.format(
            p=rng.choice(PRODUCTS),
            n=rng.choice([2, 3, 5, 10000, 20000, rng.randint(1, 99_999)]),
            e=rng.choice(EMOJI),
            c=rng.choice(CITIES),
        )
        messages.append(_noise(text, rng))
    return messages


def measure(
    detector: Detector, messages: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Messages per CPU second and per wall-clock second, one of each per round."""
    detect = detector.detect
    for text in messages[:1000]:  # warm up
        detect(text)
    cpu_rates, wall_rates = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for text in messages:
            detect(text)
        cpu_rates.append(len(messages) / (time.process_time() - cpu))
        wall_rates.append(len(messages) / (time.perf_counter() - wall))
    return cpu_rates, wall_rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    detector = Detector.load()
    loaded = time.perf_counter() - started
    messages = generate(args.messages, args.seed)
    distinct = len(set(messages))
    mean_length = statistics.mean(len(m) for m in messages)
    cpu_rates, wall_rates = measure(detector, messages, args.rounds)
    best = max(cpu_rates)

    print(f"vocabulary: {detector.size} phrases, loaded in {loaded * 1000:.0f} ms")
    print(
        f"mix: {len(messages)} messages ({distinct} distinct), 10 languages, "
        f"{mean_length:.0f} characters on average"
    )
    print(
        f"throughput on one core, {args.rounds} rounds: best {best:,.0f} msg/s per CPU second "
        f"(median {statistics.median(cpu_rates):,.0f}); wall clock best "
        f"{max(wall_rates):,.0f} (median {statistics.median(wall_rates):,.0f})"
    )
    print(f"target {TARGET:,} msg/s: {best / TARGET:.2f}x")


if __name__ == "__main__":
    main()
