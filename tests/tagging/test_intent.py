"""Tables for the pure intent detector: levels per language, negation, normalisation, opt-out
traps, parameters, language guess, vocabulary loading and robustness."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.tagging.intent import (
    VOCABULARY_DIR,
    Detector,
    Match,
    Signals,
    VocabularyError,
    default_detector,
)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return default_detector()


def _ids(rows: Sequence[Sequence[object]]) -> list[str]:
    return [str(row[0])[:40] for row in rows]


# --- one message per level and language ----------------------------------------------------

LEVELS = [
    ("en", "how much for two of them?", "high"),
    ("en", "what material is the strap made of", "medium"),
    ("en", "great, thank you!", "potential"),
    ("en", "not interested, thanks", "none"),
    ("en", "sorry, who gave you my number?", None),
    ("de", "was kosten die kopfhörer?", "high"),
    ("de", "welche größe brauche ich bei 1,80m?", "medium"),
    ("de", "alles klar, danke!", "potential"),
    ("de", "nein danke, kein interesse", "none"),
    ("de", "bin grad im auto, später", None),
    ("es", "qué precio tiene la funda?", "high"),
    ("es", "tiene garantía el secador?", "medium"),
    ("es", "genial, gracias!", "potential"),
    ("es", "no me interesa, gracias", "none"),
    ("es", "perdón, número equivocado", None),
    ("pt", "quanto custa a capinha?", "high"),
    ("pt", "qual o tamanho da mochila?", "medium"),
    ("pt", "valeu, obrigado!", "potential"),
    ("pt", "não tenho interesse", "none"),
    ("pt", "quem está falando?", None),
    ("fr", "c'est combien la livraison ?", "high"),
    ("fr", "elle est compatible avec l'iphone 13 ?", "medium"),
    ("fr", "parfait, merci !", "potential"),
    ("fr", "non merci, pas intéressé", "none"),
    ("fr", "qui est à l'appareil ?", None),
    ("id", "harganya berapa kak?", "high"),
    ("id", "bahannya apa kak?", "medium"),
    ("id", "siap kak, makasih", "potential"),
    ("id", "gak minat kak", "none"),
    ("id", "maaf salah kirim", None),
    ("hi", "bhai iska price kya hai?", "high"),
    ("hi", "warranty kitne saal ki hai?", "medium"),
    ("hi", "theek hai, dhanyavad", "potential"),
    ("hi", "nahi chahiye, thanks", "none"),
    ("hi", "आप कौन बोल रहे हैं?", None),
    ("ar", "بكم هذا؟", "high"),
    ("ar", "كم مقاس الحذاء؟", "medium"),
    ("ar", "تمام، مشكور", "potential"),
    ("ar", "لا شكرا، مو مهتم", "none"),
    ("ar", "مين حضرتك؟", None),
    ("zh", "这款多少钱？", "high"),
    ("zh", "这个尺码偏大吗", "medium"),
    ("zh", "好的，谢谢", "potential"),
    ("zh", "不需要了，谢谢", "none"),
    ("zh", "你是谁啊", None),
    ("vi", "cái này giá bao nhiêu shop?", "high"),
    ("vi", "bảo hành bao lâu vậy shop?", "medium"),
    ("vi", "dạ vâng, cảm ơn shop", "potential"),
    ("vi", "thôi, không mua đâu", "none"),
    ("vi", "ai vậy?", None),
]


@pytest.mark.parametrize(
    ("language", "text", "intent"),
    LEVELS,
    ids=[f"{lang}-{intent or 'null'}" for lang, _, intent in LEVELS],
)
def test_level_in_every_language(
    detector: Detector, language: str, text: str, intent: str | None
) -> None:
    signals = detector.detect(text)
    assert signals.intent == intent
    assert not signals.opt_out


# --- negation ------------------------------------------------------------------------------

NEGATION = [
    ("no discount needed", None, set()),
    ("I don't need a discount, what's the warranty?", "medium", set()),
    ("not bothered about the newest one, how much is last year's?", "high", set()),
    ("no promo needed, just the price pls", "high", set()),
    ("kein rabatt nötig, aber was kostet der versand?", "high", set()),
    ("rabatt brauch ich keinen, ist das wasserdicht?", "medium", {"function_oriented"}),
    ("sin descuento, solo quiero saber la garantía", "medium", set()),
    ("não preciso de cupom, qual o prazo de entrega?", "high", set()),
    ("pas besoin de code promo, la taille est normale ?", "medium", set()),
    ("gak usah diskon kak, garansinya berapa lama?", "medium", set()),
    ("discount nahi chahiye, warranty kitni hai?", "medium", set()),
    ("مش عايز خصم، الضمان كام سنة؟", "medium", set()),
    ("不要优惠，保修多久？", "medium", set()),
    ("ko cần giảm giá, bảo hành mấy tháng?", "medium", set()),
    # The same word is not a negation in another language: Spanish "no" asks here.
    ("no tienen descuento?", "high", {"discount_sensitive"}),
]


@pytest.mark.parametrize(("text", "intent", "interests"), NEGATION, ids=_ids(NEGATION))
def test_negation_cancels_the_nearest_want(
    detector: Detector, text: str, intent: str | None, interests: set[str]
) -> None:
    signals = detector.detect(text)
    assert (signals.intent, set(signals.interests)) == (intent, interests)


BARE_NEGATIONS = ["no", "No!", "nope", "no pls", "nein", "لا", "不要", "jangan"]


@pytest.mark.parametrize("text", BARE_NEGATIONS, ids=BARE_NEGATIONS)
def test_a_bare_negation_turns_the_offer_down(detector: Detector, text: str) -> None:
    signals = detector.detect(text)
    assert (signals.intent, signals.opt_out) == ("none", False)
    assert [m.value for m in signals.evidence] == ["none"]


# --- how people type -----------------------------------------------------------------------

TYPING = [
    ("repeated letters", "pleeease whats the priiice", "high"),
    ("repeated letters, pt", "oiii quantooo ta?", "high"),
    ("repeated letters, doubled word", "goooood", "potential"),
    ("missing accents, es", "cuanto cuesta el envio?", "high"),
    ("missing accents, pt", "nao tenho interesse", "none"),
    ("missing accents, fr", "ca coute combien ?", "high"),
    ("missing accents, vi", "gia bao nhieu vay shop", "high"),
    ("missing umlaut, de", "welche groesse faellt normal aus", "medium"),
    ("shouting", "HOW MUCH IS IT???", "high"),
    ("mixed case", "WaRrAnTy?", "medium"),
    ("traditional chinese", "這個多少錢", "high"),
    ("arabic spelling variants", "أبغى أرجّع الطلب", "medium"),
    ("arabic clitics", "والسعر كم؟", "high"),
    ("fullwidth letters", "ＰＲＩＣＥ？", "high"),
    ("line breaks", "hi\nhow much\nthanks", "high"),
    ("emoji only, thumbs up", "👍", "potential"),
    ("emoji only, two", "🙏😊", "potential"),
    ("emoji with skin tone", "👍🏽", "potential"),
    ("emoji with variation selector", "❤️", "potential"),
    ("emoji only, thumbs down", "👎", "none"),
    ("emoji only, no meaning", "🙈", None),
    ("mixed hinglish", "bhai price kya hai for the 20000mah one?", "high"),
    ("mixed en/fr", "ok merci 👍", "potential"),
    ("mixed es/en", "hola, how much is the cargador?", "high"),
    ("mixed hindi scripts", "iPhone 15 वाला कवर available है?", "high"),
]


@pytest.mark.parametrize(("case", "text", "intent"), TYPING, ids=[row[0] for row in TYPING])
def test_typing_habits(detector: Detector, case: str, text: str, intent: str | None) -> None:
    assert detector.detect(text).intent == intent


# --- opt-out -------------------------------------------------------------------------------

OPT_OUT_TRAPS = [
    "the kettle won't stop beeping",
    "I'll stop by tomorrow",
    "don't stop sending the deals",
    "please cancel one item from my order",
    "stopp, ich meinte die blaue",
    "der wecker hört nicht auf zu klingeln",
    "la balanza no para de pitar",
    "para tudo, que lindo!",
    "arrête, elle est trop belle",
    "stop kontak yang 4 lubang ada?",
    "charging बंद हो जाती है",
    "الشاحن ما يوقف يسخن",
    "充电器一直不停闪",
    "quạt ko dừng được",
    "cancel the red one, keep the rest",
    "no me manden el rojo, mejor el azul",
    "não parem de me mandar promoções",
    "đừng ngừng gửi khuyến mãi nha",
    "offers bhejna band mat karna",
    "how do i turn off the notifications on the watch",
    "je passe au magasin demain",
    "gibt es keine angebote mehr?",
    "no dejen de mandarme ofertas",
]


@pytest.mark.parametrize("text", OPT_OUT_TRAPS, ids=[t[:30] for t in OPT_OUT_TRAPS])
def test_opt_out_traps_are_not_opt_outs(detector: Detector, text: str) -> None:
    assert not detector.detect(text).opt_out


OPT_OUTS = [
    "STOP",
    "Stop!",
    "stop please",
    "stopp",
    "BAJA",
    "parar",
    "arrête",
    "berhenti",
    "बंद करो",
    "إلغاء الاشتراك",
    "退订",
    "dừng",
    "please remove me from your list",
    "bitte keine werbung mehr",
    "dejen de enviarme mensajes",
    "não quero mais receber mensagens",
    "ne m'envoyez plus rien",
    "jangan kirim pesan lagi ya",
    "msg mat bhejo",
    "لا ترسلوا لي رسائل",
    "别再发了",
    "đừng nhắn tin nữa",
    "STOP sending me promos",
    "stop texting me already",
    "no more whatsapps please",
    "basta de spam",
    "chega de propaganda",
    "plus de pubs svp",
    "gak mau terima promo lagi",
    "promotions nahi chahiye",
    "ما ابغى عروض بعد اليوم",
    "不要再推送了",
    "đừng nhắn nữa shop",
]


@pytest.mark.parametrize("text", OPT_OUTS, ids=[t[:30] for t in OPT_OUTS])
def test_real_opt_outs(detector: Detector, text: str) -> None:
    signals = detector.detect(text)
    assert signals.opt_out
    assert signals.intent == "none"
    assert not signals.interests  # what they ask us to stop sending is not an interest
    assert any(m.signal == "opt_out" for m in signals.evidence)


OPT_INS = [("START", True), ("send me offers again", True), ("STOP start", False)]


@pytest.mark.parametrize(("text", "opt_in"), OPT_INS, ids=[t for t, _ in OPT_INS])
def test_opt_in(detector: Detector, text: str, opt_in: bool) -> None:
    assert detector.detect(text).opt_in is opt_in


# --- interests, comparison, categories, parameters -----------------------------------------

INTERESTS = [
    ("any coupon for first order?", {"discount_sensitive"}),
    ("is the latest model out yet?", {"novelty_seeking"}),
    ("how durable is it, is it waterproof?", {"function_oriented"}),
    ("do you have a tutorial video?", {"content_learner"}),
    ("i always buy anker, never let me down", {"brand_loyal"}),
]


@pytest.mark.parametrize(("text", "interests"), INTERESTS, ids=_ids(INTERESTS))
def test_interests(detector: Detector, text: str, interests: set[str]) -> None:
    assert set(detector.detect(text).interests) == interests


COMPARISONS = ["iphone vs samsung?", "whats the difference between the two", "哪个更好？"]


@pytest.mark.parametrize("text", COMPARISONS, ids=COMPARISONS)
def test_comparison(detector: Detector, text: str) -> None:
    signals = detector.detect(text)
    assert signals.comparison
    assert "function_oriented" in signals.interests
    assert signals.intent in ("medium", "high")


PARAMETERS = [
    ("power bank 20000 mAh", {"3c"}, {"high_capacity"}),
    ("powerbank 20.000mah how much", {"3c"}, {"high_capacity"}),
    ("20k mAh powerbank", {"3c"}, {"high_capacity"}),
    ("充电宝2万毫安多少钱", {"3c"}, {"high_capacity"}),
    ("cargador portátil de 10000mah", {"3c"}, {"high_capacity"}),
    ("power bank 5000mAh", {"3c"}, set()),
    ("65W charger", {"3c"}, {"fast_charging"}),
    ("iphone 256gb", {"3c"}, {"large_storage"}),
    ("is the stroller foldable?", {"baby"}, set()),
    ("serum for dry skin?", {"beauty"}, set()),
]


@pytest.mark.parametrize(("text", "categories", "parameters"), PARAMETERS, ids=_ids(PARAMETERS))
def test_categories_and_parameters(
    detector: Detector, text: str, categories: set[str], parameters: set[str]
) -> None:
    signals = detector.detect(text)
    assert (set(signals.categories), set(signals.parameters)) == (categories, parameters)


def test_evidence_names_the_phrase(detector: Detector) -> None:
    signals = detector.detect("how much is it? 👍👍")
    assert Match("intent", "high", "how much is", "en") in signals.evidence
    assert signals.evidence.count(Match("intent", "potential", "👍", "und")) == 1


# --- language guess ------------------------------------------------------------------------

LANGUAGE_GUESSES = [
    ("by devanagari", "कितने का है?", None, "hi"),
    ("by arabic script", "كم السعر", None, "ar"),
    ("by han", "多少钱", None, "zh"),
    ("by vietnamese letters", "giá bao nhiêu", None, "vi"),
    ("hinglish by phrases", "bhai kitne ka hai", None, "hi"),
    ("arabizi by phrases", "kam el se3r?", None, "ar"),
    ("by phrases", "wie teuer ist das?", None, "de"),
    ("hint wins a tie", "STOP", "id", "id"),
    ("hint with region", "STOP", "pt-BR", "pt"),
    ("hint never beats the script", "多少钱", "en", "zh"),
    ("nothing to go on", "🙈", None, None),
    ("nothing to go on but the hint", "🙈", "fr", "fr"),
]


@pytest.mark.parametrize(
    ("case", "text", "hint", "language"), LANGUAGE_GUESSES, ids=[r[0] for r in LANGUAGE_GUESSES]
)
def test_language_guess(
    detector: Detector, case: str, text: str, hint: str | None, language: str | None
) -> None:
    assert detector.detect(text, hint).language == language


# --- generalisation: messages written apart from the dev set --------------------------------

GENERALISATION = [
    ("en", "yo whats the price on the 65w gan charger", "high", [], False),
    ("en", "do u ship to dublin? how long does it take", "high", [], False),
    ("en", "any black friday deals on airpods??", "high", ["discount_sensitive"], False),
    ("en", "is the strap real leather or synthetic?", "medium", [], False),
    ("en", "nah im good thanks", "none", [], False),
    ("en", "cheers mate 🙌", "potential", [], False),
    (
        "en",
        "which one lasts longer, the anker or the baseus?",
        "medium",
        ["function_oriented"],
        False,
    ),
    ("en", "please unsubscribe me", "none", [], True),
    ("en", "my order hasnt arrived yet, can i get a refund", "medium", [], False),
    ("en", "got any new colours coming for the stanley cup?", "medium", ["novelty_seeking"], False),
    ("en", "thank uuu", "potential", [], False),
    ("de", "was kostet die powerbank mit 20000mah?", "high", [], False),
    ("de", "habt ihr die jacke noch in L?", "high", [], False),
    ("de", "gibt es aktuell irgendwelche gutscheine?", "high", ["discount_sensitive"], False),
    ("de", "aus welchem material ist das armband?", "medium", [], False),
    ("de", "nee lass mal, kein bedarf", "none", [], False),
    ("de", "alles klar, vielen dank!", "potential", [], False),
    ("de", "bitte keine nachrichten mehr schicken", "none", [], True),
    ("de", "kann ich das kleid zurückschicken wenn es nicht passt?", "medium", [], False),
    ("de", "gibts da ein tutorial zum einrichten?", "medium", ["content_learner"], False),
    (
        "de",
        "ich kauf seit jahren nur bei euch, wann kommt das neue modell raus?",
        "medium",
        ["brand_loyal", "novelty_seeking"],
        False,
    ),
    ("de", "sorry, falscher chat", None, [], False),
    ("es", "cuánto sale el envío a monterrey?", "high", [], False),
    ("es", "hay descuento si compro dos?", "high", ["discount_sensitive"], False),
    ("es", "de qué material es la funda?", "medium", [], False),
    ("es", "ya no me interesa, gracias", "none", [], False),
    ("es", "perfecto, muchas gracias!!", "potential", [], False),
    ("es", "tienen la nueva colección de otoño?", "high", ["novelty_seeking"], False),
    ("es", "la batería aguanta todo el día?", "medium", ["function_oriented"], False),
    ("es", "dejen de mandarme publicidad por favor", "none", [], True),
    ("es", "me equivoqué de número, perdón", None, [], False),
    ("es", "hay algún tutorial para configurar el reloj?", "medium", ["content_learner"], False),
    ("es", "quiero devolver el pedido, llegó roto", "medium", [], False),
    ("pt", "qual o valor do fone bluetooth?", "high", [], False),
    ("pt", "tem cupom de frete grátis?", "high", ["discount_sensitive"], False),
    ("pt", "esse tênis é de couro?", "medium", [], False),
    ("pt", "não, obrigado, não tenho interesse", "none", [], False),
    ("pt", "show, valeu!", "potential", [], False),
    ("pt", "chegou modelo novo de smartwatch?", "high", ["novelty_seeking"], False),
    ("pt", "quero trocar o tamanho, ficou apertado", "medium", [], False),
    ("pt", "para de me mandar mensagem pfv", "none", [], True),
    ("pt", "quem fala?", None, [], False),
    ("pt", "tem vídeo mostrando como usa?", "medium", ["content_learner"], False),
    ("pt", "a bateria dura quanto tempo?", "medium", ["function_oriented"], False),
    ("fr", "bonjour, quel est le prix du casque ?", "high", [], False),
    ("fr", "vous livrez en belgique ?", "high", [], False),
    ("fr", "y a des promos en ce moment ?", "high", ["discount_sensitive"], False),
    ("fr", "il fait quelle taille exactement ?", "medium", [], False),
    ("fr", "non merci ça ira", "none", [], False),
    ("fr", "super merci beaucoup 😊", "potential", [], False),
    ("fr", "je ne veux plus recevoir vos messages", "none", [], True),
    (
        "fr",
        "c'est quoi la différence entre les deux modèles ?",
        "medium",
        ["function_oriented"],
        False,
    ),
    ("fr", "je peux le retourner si ça me plaît pas ?", "medium", [], False),
    ("fr", "désolé je me suis trompé de numéro", None, [], False),
    ("fr", "vous avez des nouveautés cette semaine ?", "medium", ["novelty_seeking"], False),
    ("id", "kak harga sepatu ini brp ya?", "high", [], False),
    ("id", "ongkir ke bandung berapa kak", "high", [], False),
    ("id", "ada voucher diskon gk min?", "high", ["discount_sensitive"], False),
    ("id", "bahannya adem gk kak?", "medium", [], False),
    ("id", "gk dulu deh kak, makasih", "none", [], False),
    ("id", "oke kak siap 👍", "potential", [], False),
    ("id", "tolong stop kirim promo ke nomor saya", "none", [], True),
    ("id", "barangnya rusak pas sampai, bisa tukar?", "medium", [], False),
    ("id", "ini nomor siapa ya?", None, [], False),
    ("id", "ada video cara pakainya kak?", "medium", ["content_learner"], False),
    ("id", "baterainya tahan berapa jam?", "medium", ["function_oriented"], False),
    ("hi", "bhai iska rate kya hai?", "high", [], False),
    ("hi", "delivery kab tak ho jayegi?", "high", [], False),
    ("hi", "koi offer chal raha hai kya abhi?", "high", ["discount_sensitive"], False),
    ("hi", "ye cotton ka hai ya polyester?", "medium", [], False),
    ("hi", "nahi bhai, zarurat nahi hai", "none", [], False),
    ("hi", "theek hai bhai, thanks", "potential", [], False),
    ("hi", "mujhe ab koi message mat bhejna", "none", [], True),
    ("hi", "इसकी कीमत क्या है?", "high", [], False),
    ("hi", "क्या इसमें नया मॉडल आया है?", "medium", ["novelty_seeking"], False),
    ("hi", "मुझे मैसेज मत करो", "none", [], True),
    ("hi", "galat number hai", None, [], False),
    ("hi", "वापस कैसे करें? साइज़ छोटा है", "medium", [], False),
    ("ar", "كم سعر الساعة؟", "high", [], False),
    ("ar", "هل يوجد توصيل لجدة؟", "high", [], False),
    ("ar", "في خصم على الكمية؟", "high", ["discount_sensitive"], False),
    ("ar", "المقاس كبير ولا صغير؟", "medium", [], False),
    ("ar", "لا شكرا مو محتاج", "none", [], False),
    ("ar", "مشكور اخوي 🌹", "potential", [], False),
    ("ar", "لو سمحت لا ترسلوا لي رسائل مرة ثانية", "none", [], True),
    ("ar", "الجهاز عطلان، كيف أرجعه؟", "medium", [], False),
    ("ar", "مين انت؟", None, [], False),
    ("ar", "ana 3ayez a3raf el se3r law sama7t", "high", [], False),
    ("ar", "عندكم الموديل الجديد؟", "high", ["novelty_seeking"], False),
    ("zh", "这个耳机多少钱啊", "high", [], False),
    ("zh", "能发顺丰吗？几天到北京", "high", [], False),
    ("zh", "有没有满减活动", "high", ["discount_sensitive"], False),
    ("zh", "这件衣服是纯棉的吗", "medium", [], False),
    ("zh", "不用了谢谢", "none", [], False),
    ("zh", "好的收到👌", "potential", [], False),
    ("zh", "以后别给我发消息了", "none", [], True),
    ("zh", "收到的杯子是坏的，怎么退货", "medium", [], False),
    ("zh", "你好，请问你是谁", None, [], False),
    ("zh", "有新款吗？想看看", "medium", ["novelty_seeking"], False),
    ("vi", "cái này giá bao nhiêu vậy shop", "high", [], False),
    ("vi", "ship về Hà Nội mấy ngày ạ", "high", [], False),
    ("vi", "shop có mã freeship ko", "high", ["discount_sensitive"], False),
    ("vi", "áo này chất liệu gì vậy shop", "medium", [], False),
    ("vi", "thôi e ko lấy nữa nha", "none", [], False),
    ("vi", "dạ vâng e cảm ơn shop", "potential", [], False),
    ("vi", "đừng gửi tin nhắn cho em nữa", "none", [], True),
    ("vi", "hàng bị lỗi, shop đổi giúp e được ko", "medium", [], False),
    ("vi", "ai đây ạ?", None, [], False),
    ("vi", "có hướng dẫn sử dụng ko shop", "medium", ["content_learner"], False),
    ("vi", "mẫu mới về chưa shop?", "high", ["novelty_seeking"], False),
    ("en", "yo is the 2tb ssd still available", "high", [], False),
    ("en", "what's the return policy if it doesn't fit", "medium", [], False),
    ("en", "appreciate it 🙏", "potential", [], False),
    ("en", "i'm good, no need", "none", [], False),
    ("en", "can u send me a guide on how to clean it", "medium", ["content_learner"], False),
    ("de", "wie viel kostet der versand in die schweiz?", "high", [], False),
    ("de", "passt die hülle auch aufs s23?", "medium", [], False),
    ("de", "supi danke 😊", "potential", [], False),
    ("de", "brauch ich nicht, danke", "none", [], False),
    ("de", "gibt es das auch in neu rot?", "high", ["novelty_seeking"], False),
    ("es", "cuánto me sale con envío?", "high", [], False),
    ("es", "de qué tamaño es la mochila?", "medium", [], False),
    ("es", "listo, muchas gracias", "potential", [], False),
    ("es", "no gracias, por ahora no", "none", [], False),
    ("es", "tienen rebajas este finde?", "high", ["discount_sensitive"], False),
    ("pt", "quanto fica com frete pra sp?", "high", [], False),
    ("pt", "esse fone é à prova d'água?", "medium", ["function_oriented"], False),
    ("pt", "beleza, obrigada!", "potential", [], False),
    ("pt", "não quero, obrigada", "none", [], False),
    ("pt", "parem de me mandar promoção", "none", [], True),
    ("fr", "le chargeur est à combien ?", "high", [], False),
    ("fr", "ça taille grand ou petit ?", "medium", [], False),
    ("fr", "super, merci bcp", "potential", [], False),
    ("fr", "non ça ira merci", "none", [], False),
    (
        "fr",
        "vous faites des réductions pour les étudiants ?",
        "high",
        ["discount_sensitive"],
        False,
    ),
    ("id", "min harga powerbank ini berapaan?", "high", [], False),
    ("id", "ukuran L muat buat BB 70kg gk kak?", "medium", [], False),
    ("id", "sip kak makasih ya", "potential", [], False),
    ("id", "gak jadi kak, maaf", "none", [], False),
    ("id", "ada promo gajian gk kak?", "high", ["discount_sensitive"], False),
    ("hi", "bhai ye kitne ka milega?", "high", [], False),
    ("hi", "iska size chart bhejo", "medium", [], False),
    ("hi", "achha thik hai", "potential", [], False),
    ("hi", "mujhe nahi chahiye", "none", [], False),
    ("hi", "कोई डिस्काउंट मिलेगा क्या?", "high", ["discount_sensitive"], False),
    ("ar", "بكم الشاحن؟", "high", [], False),
    ("ar", "هل يناسب ايفون 14؟", "medium", [], False),
    ("ar", "الله يعطيك العافية", "potential", [], False),
    ("ar", "ما ابي شكرا", "none", [], False),
    ("ar", "فيه عروض على السماعات؟", "high", ["discount_sensitive"], False),
    ("zh", "这个多少钱一个？", "high", [], False),
    ("zh", "这个适合几岁的宝宝", "medium", [], False),
    ("zh", "好嘞谢谢", "potential", [], False),
    ("zh", "不买了，谢谢", "none", [], False),
    ("zh", "有没有优惠码", "high", ["discount_sensitive"], False),
    ("vi", "bộ này bao nhiêu tiền shop", "high", [], False),
    ("vi", "size M mặc vừa ko shop", "medium", [], False),
    ("vi", "dạ em cảm ơn", "potential", [], False),
    ("vi", "em ko lấy nữa đâu", "none", [], False),
    ("vi", "shop có voucher ko ạ", "high", ["discount_sensitive"], False),
    # Written after the held-out measurement, for the classes of gap it showed: stock and
    # colour questions, malfunctions ("keeps switching off"), care questions, warranty length,
    # payment words, "don't stop sending" traps and opt-out families, in both Hindi scripts.
    ("en", "hey do u still have the grey hoodie in a medium?", "high", [], False),
    ("en", "the humidifier keeps switching off by itself, is it faulty?", "medium", [], False),
    ("en", "no, thanks. all sorted", "none", [], False),
    ("en", "quit messaging me, i never signed up for this", "none", [], True),
    (
        "en",
        "ive always bought my running shoes here, any new colours this season?",
        "medium",
        ["brand_loyal", "novelty_seeking"],
        False,
    ),
    ("en", "do you take apple pay?", "high", [], False),
    ("de", "wie viel wiegt der koffer leer?", "medium", [], False),
    ("de", "kann ich mit kreditkarte zahlen?", "high", [], False),
    ("de", "die uhr piept ständig, wie stelle ich das ab?", "medium", [], False),
    ("de", "hatten wir schon, ist der noch lieferbar?", "high", ["brand_loyal"], False),
    ("de", "löscht bitte meine nummer aus eurer liste", "none", [], True),
    ("es", "como hago para comprar dos?", "high", [], False),
    ("es", "se puede lavar en lavadora la funda?", "medium", [], False),
    ("es", "cuanto dura la garantia de la plancha?", "medium", [], False),
    ("es", "basta de publicidad por favor", "none", [], True),
    (
        "es",
        "no dejen de mandarme las promos, hay rebajas hoy?",
        "high",
        ["discount_sensitive"],
        False,
    ),
    ("pt", "vcs tem a bolsa preta ainda?", "high", [], False),
    ("pt", "o carrinho dobra fácil? cabe no porta-malas?", "medium", [], False),
    ("pt", "a balança não para de apitar, como desliga?", "medium", [], False),
    (
        "pt",
        "não parem de me mandar os cupons, tem desconto hoje?",
        "high",
        ["discount_sensitive"],
        False,
    ),
    ("pt", "apaguem meu número da lista por favor", "none", [], True),
    ("fr", "vs l'avez en 40 la veste ?", "high", [], False),
    ("fr", "le babyphone arrête pas de biper, ça se règle ?", "medium", [], False),
    (
        "fr",
        "j'adore la marque, y a une remise en ce moment ?",
        "high",
        ["brand_loyal", "discount_sensitive"],
        False,
    ),
    ("fr", "merci de ne plus m'envoyer de pubs", "none", [], True),
    ("fr", "je passe en boutique demain, merci", "potential", [], False),
    ("id", "kak sepatunya ada gak size 39?", "high", [], False),
    ("id", "kipasnya bunyi terus gak berhenti kak, gimana ya", "medium", [], False),
    ("id", "gak kak, makasih", "none", [], False),
    ("id", "saya tidak mau terima promo lagi", "none", [], True),
    ("id", "jangan berhenti kirim info diskon ya kak", "high", ["discount_sensitive"], False),
    ("hi", "ye kurta blue colour me hai kya?", "high", [], False),
    ("hi", "bill milega na? gst wala", "medium", [], False),
    ("hi", "ये जूते चमड़े के हैं क्या?", "medium", [], False),
    ("hi", "offers bhejna band mat karna, sale kab hai?", "high", ["discount_sensitive"], False),
    ("hi", "mera number list se hata do", "none", [], True),
    ("ar", "lessa mawgood el shanta el sowda?", "high", [], False),
    ("ar", "المكيف ما يطفي، ايش اسوي؟", "medium", [], False),
    ("ar", "ينفع ادفع بالبطاقة؟", "high", [], False),
    ("ar", "احذفوني من القائمة لو سمحت", "none", [], True),
    ("ar", "ana ba7eb el brand da, fi 5asm?", "high", ["brand_loyal", "discount_sensitive"], False),
    ("zh", "请不要再推送促销信息", "none", [], True),
    ("zh", "净水器老是报警 怎么关掉", "medium", [], False),
    ("zh", "有没有其他颜色 白的还有吗", "high", [], False),
    ("zh", "这个床垫能折叠吗", "medium", [], False),
    ("zh", "我一直用你家的面霜 最近有活动吗", "high", ["brand_loyal", "discount_sensitive"], False),
    ("vi", "váy đỏ còn size M ko shop", "high", [], False),
    ("vi", "quần này giặt máy được ko", "medium", [], False),
    ("vi", "thôi khỏi nha shop", "none", [], False),
    ("vi", "đừng ngừng gửi mã giảm giá nha shop", "high", ["discount_sensitive"], False),
    ("vi", "shop đừng nhắn tin quảng cáo cho em nữa", "none", [], True),
]


@pytest.mark.parametrize(
    ("language", "text", "intent", "interests", "opt_out"),
    GENERALISATION,
    ids=[f"{row[0]}-{i:03d}" for i, row in enumerate(GENERALISATION)],
)
def test_generalisation(
    detector: Detector,
    language: str,
    text: str,
    intent: str | None,
    interests: list[str],
    opt_out: bool,
) -> None:
    signals = detector.detect(text)
    assert (signals.intent, set(signals.interests), signals.opt_out) == (
        intent,
        set(interests),
        opt_out,
    )


# --- vocabulary as data --------------------------------------------------------------------


def test_default_detector_is_built_once() -> None:
    assert default_detector() is default_detector()


def test_an_operator_can_extend_the_vocabulary(tmp_path: Path) -> None:
    vocabulary = tmp_path / "vocabulary"
    shutil.copytree(VOCABULARY_DIR, vocabulary)
    assert Detector.load(vocabulary).detect("skookum!").intent is None
    english = vocabulary / "en.yaml"
    text = english.read_text(encoding="utf-8")
    english.write_text(text.replace("  potential:\n", "  potential:\n    - skookum\n", 1))
    (vocabulary / "sw.yaml").write_text(
        "language: sw\nintent:\n  high: [bei gani]\n", encoding="utf-8"
    )
    extended = Detector.load(vocabulary)
    assert extended.detect("SKOOOOKUM!").intent == "potential"
    assert extended.detect("bei gani?").intent == "high"
    assert extended.detect("how much?").intent == "high"  # the rest still stands


BAD_VOCABULARY = [
    ("unknown key", "language: en\nintents: {}\n"),
    ("missing language", "intent:\n  high: [price]\n"),
    ("bare yaml boolean", "language: en\nnegators:\n  before: [no]\n"),
    ("not a list", "language: en\nintent:\n  high: price\n"),
    ("unknown level", "language: en\nintent:\n  urgent: [now]\n"),
    ("broken yaml", "language: en\nintent: [\n"),
]


@pytest.mark.parametrize(("case", "text"), BAD_VOCABULARY, ids=[r[0] for r in BAD_VOCABULARY])
def test_malformed_vocabulary_is_rejected_with_its_file_name(
    tmp_path: Path, case: str, text: str
) -> None:
    (tmp_path / "xx.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(VocabularyError, match=r"xx\.yaml"):
        Detector.load(tmp_path)


def test_an_empty_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(VocabularyError, match="no vocabulary files"):
        Detector.load(tmp_path)


def test_a_parameter_needs_units(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yaml").write_text(
        "parameters:\n  - tag: big\n    min: 10\n", encoding="utf-8"
    )
    with pytest.raises(VocabularyError, match="units"):
        Detector.load(tmp_path)


# --- robustness ----------------------------------------------------------------------------

ODD_TEXTS = [
    ("empty", ""),
    ("blank", " \t\n "),
    ("long", "how much is the power bank? " * 147),  # 4,116 characters
    ("one long word", "a" * 4096),
    ("only emoji", "😀" * 500),
    ("rtl with marks", "\u202bكم السعر؟\u202c"),
    ("control characters", "\x00\x01pri\x07ce\x1b[0m?"),
    ("lone surrogate", "\ud800 price"),
    ("combining marks only", "\u0301\u0308\u0327"),
    ("zero width joiners", "👩\u200d👩\u200d👧"),
    ("many negators", "no " * 1500 + "discount"),
    ("many clitics", "وال" * 1000 + "سعر"),
]


@pytest.mark.parametrize(("case", "text"), ODD_TEXTS, ids=[r[0] for r in ODD_TEXTS])
def test_odd_input_never_raises(detector: Detector, case: str, text: str) -> None:
    signals = detector.detect(text)
    assert isinstance(signals, Signals)
    assert signals.intent in (None, "high", "medium", "potential", "none")


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(max_size=300))
def test_never_raises_and_is_deterministic(text: str) -> None:
    detector = default_detector()
    first = detector.detect(text)
    assert detector.detect(text) == first


SCRIPTS = st.sampled_from(
    ["price ", "no ", "stop ", "😊", "多少钱", "कितने ", "السعر ", "giá ", "'", "?", "\u0301"]
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(SCRIPTS, max_size=30).map("".join), st.sampled_from([None, "en", "zh", "pt-BR"]))
def test_mixed_scripts_never_raise(text: str, hint: str | None) -> None:
    signals = default_detector().detect(text, hint)
    assert not signals.opt_out or signals.intent == "none"  # every opt-out is a refusal
    assert signals == default_detector().detect(text, hint)
