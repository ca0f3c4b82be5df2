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

# Elements named for a stock line, in one XPath pass over the body.
_STOCK_NAMES = ("stock", "availab", "inventory", "lager", "dispon", "verfueg", "verfüg", "sklad")
_STOCK_NAMED = (
    "//body//*[not(self::script or self::style or self::option or self::select)]["
    + " or ".join(
        f"contains(translate(@{attribute}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
        f"'abcdefghijklmnopqrstuvwxyz'), '{name}')"
        for attribute in ("class", "id", "itemprop")
        for name in _STOCK_NAMES
    )
    + "]"
)
_MAX_STOCK_TEXT = 80
# The words of a buy button: add to cart / basket / bag, buy now, in many languages.
BUY_BUTTON_WORDS = re.compile(
    r"add to (?:cart|basket|bag|trolley)|add to shopping (?:cart|bag)|buy (?:it )?now|^buy$"
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
_BUTTONS = (
    "//body//button | //body//input[@type='submit' or @type='button']/@value"
    " | //body//*[@role='button'] | //body//a[contains(translate(@class, 'CARTBUY', 'cartbuy'),"
    " 'cart') or contains(translate(@class, 'CARTBUY', 'cartbuy'), 'buy')"
    " or contains(translate(@id, 'CARTBUY', 'cartbuy'), 'cart')"
    " or contains(translate(@id, 'CARTBUY', 'cartbuy'), 'buy')]"
)
_MAX_BUTTON_TEXT = 40
_DISABLED = re.compile(r"disabled|inactive|sold-?out|unavailable|out-?of-?stock", re.I)


def _text(element: etree._Element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def stock_wording(root: etree._Element) -> str | None:
    """in_stock / out_of_stock from the first short stock line that says which; else None."""
    for element in root.xpath(_STOCK_NAMED):
        text = _text(element)
        if not text or len(text) > _MAX_STOCK_TEXT:
            continue
        state = normalise_availability(text)
        if state in ("in_stock", "out_of_stock"):
            return state
    return None


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


def has_buy_button(root: etree._Element) -> bool:
    """True when the page shows an enabled button that puts the product in the cart."""
    for found in root.xpath(_BUTTONS):
        if isinstance(found, str):  # an input's value
            element, text = found.getparent(), " ".join(found.split())
        else:
            element, text = found, _text(found)
        if text and len(text) <= _MAX_BUTTON_TEXT and BUY_BUTTON_WORDS.search(text):
            if not _disabled(element):
                return True
    return False


def shown_availability(root: etree._Element) -> str | None:
    """What the page shows: its stock line, else in_stock when it has a working buy button."""
    return stock_wording(root) or ("in_stock" if has_buy_button(root) else None)
