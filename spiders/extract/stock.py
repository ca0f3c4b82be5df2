"""Whether the page shows the product as buyable: stock wording and the buy button, in many languages.

Two patterns cover most stores. A stock line sits in an element named for it (class or id
with "stock", "availability", "inventory", "lager", "dispon"...) and says "In stock",
"Auf Lager", "Non disponibile", "Нет в наличии"... And a product that can be bought shows a
buy button ("Add to basket", "In den Warenkorb", "Ajouter au panier", "加入購物車"...) that is
not disabled; a sold-out one hides or disables it.
"""

from __future__ import annotations

import re

from lxml import etree

from spiders.normalise import normalise_availability

# Elements named for a stock line: plain contains() tests in libxml2 narrow the elements down
# (a translate() per spelling would cost a pass over the page each; so does each contains(),
# hence the common stems on class and the two commonest on id), _STOCK_NAME decides.
_STOCK_NAME = re.compile(r"stock|availab|inventory|lager|dispon|verfueg|verfüg|sklad", re.I)
_CLASS_STEMS = ("tock", "TOCK", "vailab", "VAILAB", "ager", "ispon", "klad", "erfüg")
_ID_STEMS = ("tock", "vailab")
_NAMED = (
    "//body//*["
    + " or ".join(
        [f"contains(@class, '{stem}')" for stem in _CLASS_STEMS]
        + [f"contains(@id, '{stem}')" for stem in _ID_STEMS]
    )
    + " or @itemprop = 'availability']"
)
_NOT_STOCK_TAGS = frozenset(("script", "style", "option", "select"))
_MAX_STOCK_TEXT = 80
_STATE_TEMPLATE = re.compile(
    r"unavailab|not-?available|sold-?out|out-?of-?stock|outofstock|no-?stock|notify|back-?in-?stock"
    r"|in-?stock|instock|available-|-available",
    re.I,
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_HIDDEN_CLASS = re.compile(
    r"(?:^|\s)(?:hidden|hide|d-none|is-hidden|visually-hidden|invisible)(?:\s|$)"
)
# The words of a buy button: add to cart / basket / bag, buy now, in many languages.
BUY_BUTTON_WORDS = re.compile(
    r"add to (?:your |my )?(?:shopping )?(?:cart|basket|bag|trolley)|buy (?:it )?now|^buy$"
    r"|^order now$|^(?:jetzt )?bestellen$|^naroči$|^заказать$"
    r"|in den (?:warenkorb|einkaufswagen)|jetzt kaufen|^kaufen$"
    r"|ajouter au panier|^acheter$|acheter maintenant"
    r"|añadir al carrito|añadir a la cesta|agregar al carrito|^comprar(?: ahora)?$"
    r"|aggiungi al carrello|^acquista(?: ora)?$|adicionar ao (?:carrinho|cesto)"
    r"|do koszyka|kup teraz|in (?:de )?winkelwagen|toevoegen aan winkelwagen"
    r"|do košíka|do košíku|^koupit$|^kúpiť$|v košarico|^kosárba|kosárba tesz"
    r"|adaug[aă] [iî]n co[sș]|в корзину|^купить$|додати в кошик|sepete ekle"
    r"|lägg i varukorg|^köp$|læg i kurv|legg i handlekurv|lisää ostoskoriin"
    r"|加入購物車|放入購物車|立即購買|加入购物车|立即购买|カートに入れる|장바구니|구매하기"
    r"|أضف إلى|اضف الى|הוסף לסל|להוספה לסל",
    re.I,
)
# A classified ad has no cart: a way to answer it means the item is still on offer.
CONTACT_SELLER_WORDS = re.compile(
    r"contact (?:the )?seller|reply to (?:this )?ad|^reply$|^(?:anbieter )?kontaktieren$"
    r"|contacter le vendeur|contactar (?:al )?vendedor|contatta il venditore"
    r"|napisz do sprzedającego|написать продавцу|chat with seller",
    re.I,
)
# Class names of a buy button whose label is an icon or a bare "Add".
_BUY_BUTTON_CLASS = re.compile(
    r"add-?to-?(?:cart|basket|bag|trolley)|addtocart|buy-?button|btn-?buy|buy-?now", re.I
)
# (plain contains() for the usual spellings: a translate() per element costs a pass each)
_BUTTONS = (
    "//body//button | //body//input[@type='submit' or @type='button']/@value"
    " | //body//*[@role='button'] | //body//a[contains(@class, 'cart') or contains(@class, 'Cart')"
    " or contains(@class, 'buy') or contains(@class, 'Buy') or contains(@id, 'cart')"
    " or contains(@id, 'Cart') or contains(@id, 'buy') or contains(@id, 'Buy')]"
)
_MAX_BUTTON_TEXT = 40
_CHOICES = "//body//select | //body//input[@type='radio']"
_DISABLED = re.compile(r"disabled|inactive|sold-?out|unavailable|out-?of-?stock", re.I)


def _text(element: etree._Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def stock_wording(root: etree._Element) -> str | None:
    """in_stock / out_of_stock from the first short stock line that says which; else None.

    Stores ship the markup of every state and hide all but one with CSS: an element named
    after one state ("unavailable-alert", "sold-out-label") is a template and says nothing
    about this page; an element hidden in the markup neither.
    """
    for element in root.xpath(_NAMED):
        names = f"{element.get('class') or ''} {element.get('id') or ''} {element.get('itemprop') or ''}"
        if not _STOCK_NAME.search(names) or element.tag in _NOT_STOCK_TAGS:
            continue
        if _STATE_TEMPLATE.search(_names(element)) or _hidden(element):
            continue
        text = _text(element)
        if not text or len(text) > _MAX_STOCK_TEXT:
            continue
        state = normalise_availability(text)
        if state in ("in_stock", "out_of_stock"):
            return state
    return None


def _names(element: etree._Element) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}"


def _hidden(element: etree._Element) -> bool:
    node: etree._Element | None = element
    for _ in range(4):
        if node is None:
            return False
        if node.get("hidden") is not None or _HIDDEN_STYLE.search(node.get("style") or ""):
            return True
        if _HIDDEN_CLASS.search(node.get("class") or ""):
            return True
        node = node.getparent()
    return False


def _disabled(element: etree._Element) -> bool:
    node: etree._Element | None = element
    for _ in range(2):
        if node is None:
            return False
        if node.get("disabled") is not None or node.get("aria-disabled") == "true":
            return True
        if _DISABLED.search(node.get("class") or ""):
            return True
        node = node.getparent()
    return False


def _is_buy_button(element: etree._Element, text: str) -> bool:
    if not text or len(text) > _MAX_BUTTON_TEXT:
        return False
    if BUY_BUTTON_WORDS.search(text) or CONTACT_SELLER_WORDS.search(text):
        return True
    return element.tag == "button" and bool(_BUY_BUTTON_CLASS.search(element.get("class") or ""))


def buy_button_state(root: etree._Element) -> str | None:
    """in_stock when the page has an enabled buy button; out_of_stock when its buy buttons are
    all disabled and the page offers nothing to choose first; else None.

    Stores disable the button until a size or colour is chosen, so a disabled one says
    "sold out" only where there is no choice to make (no select list or radio button).
    """
    disabled = False
    for found in root.xpath(_BUTTONS):
        if isinstance(found, str):  # an input's value
            element, text = found.getparent(), " ".join(found.split())
        else:
            element, text = found, _text(found)
        if _is_buy_button(element, text):
            if not _disabled(element):
                return "in_stock"
            disabled = True
    if disabled and not root.xpath(_CHOICES):
        return "out_of_stock"
    return None


def shown_availability(root: etree._Element) -> str | None:
    """What the page shows: its stock line, else what its buy button says."""
    return stock_wording(root) or buy_button_state(root)
