"""Boilerplate pruning on the parsed page, before trafilatura sees it.

Works from structure (dialogs, overlays with accept/reject buttons, class/id tokens,
headings that introduce lists of other articles) and from the multilingual lexicon in
``crawler/data/boilerplate.toml``.  Links of related-article blocks are kept as data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml.etree import XPath
from lxml.html import HtmlElement

from crawler.core.models import RelatedLink
from crawler.extraction.lexicon import LEXICON, Lexicon, normalize
from crawler.extraction.teasers import BODY_CHARS as _BODY_CHARS
from crawler.extraction.teasers import BODY_SHARE as _BODY_SHARE
from crawler.extraction.teasers import MIN_TEASERS as _MIN_TEASERS
from crawler.extraction.teasers import NEVER_PRUNE as _NEVER_PRUNE
from crawler.extraction.teasers import TEASER_CONTAINERS as _TEASER_CONTAINERS
from crawler.extraction.teasers import teaser_block as _teaser_block
from crawler.extraction.teasers import text_len as _text_len
from crawler.extraction.trace import note, tracing_on

_HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_HEADING_LIKE = frozenset({"p", "strong", "b", "span", "div", "header", "dt"})
_CONSENT_BLOCKS = frozenset({"div", "section", "aside", "form", "footer", "dialog", "p", "span"})
_BUTTON_TAGS = ("button", "a", "input", "span", "div")
_MAX_HEADING = 60  # a section heading is a few words; longer text is a paragraph
_MIN_RELATED_TITLE = 12  # shorter link text is a label ("More", "Video"), not a headline

# Guards on class-named candidates (_accept_candidate): a generic class name must never take
# the article body with it.
_MAX_OVERLAY_CHARS = 5000  # an overlay or consent box is short; longer is page content
_MAX_PLUG_CHARS = 400  # a newsletter plug or sign-up box: a sentence or two and a field
_MAX_FORM_PLUG_CHARS = 1500  # a plug that carries form controls may say more
_MAX_SHELL_CHARS = 40  # a related block without links is an empty widget placeholder
_RELATED_LINK_SHARE = 0.3  # this share of linked text makes a classed block a list of links

# Plugs and lists found without class names.
_MIN_LINK_PARAGRAPH_CHARS = 15  # a shorter linked paragraph may be a byline or credit
_LINK_PARAGRAPH_SHARE = 0.9  # a paragraph this much linked is a "read also" plug
_HEADING_LOOKAHEAD_CHARS = 40  # how far past the heading a section's text may start
_SIBLING_LINK_SHARE = 0.4  # a sibling this much linked still belongs to the heading's list
_CONSENT_GROWTH = 1.4  # a consent overlay grows to the ancestor at most this much larger ...
_CONSENT_SLACK_CHARS = 200  # ... plus its buttons and fine print
_MAX_CONSENT_CHARS = 3000  # beyond this an ancestor is the page, not the overlay
_MAX_BUTTON_LABEL = 30  # an accept/reject control's label is a word or three
_WRAPPER_SLACK_CHARS = 20  # an embed wrapper may add a caption of this size to the post
_MAX_BODY_PARTS = 12  # more repeats of one body class are a list of teasers, not one body


# Elements that hold no article text (scripts, icons, images, form fields): a quarter of a
# page's elements on news sites; classifying them would only cost time.
_NO_TEXT_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "img",
        "picture",
        "source",
        "svg",
        "path",
        "g",
        "use",
        "symbol",
        "defs",
        "circle",
        "rect",
        "polygon",
        "line",
        "br",
        "hr",
        "wbr",
        "input",
        "option",
        "select",
        "textarea",
        "meta",
        "link",
        "iframe",
        "video",
        "audio",
        "track",
        "canvas",
        "map",
        "area",
        "param",
        "embed",
        "object",
    }
)


def _link_count(el: HtmlElement) -> int:
    return sum(1 for a in el.iter("a") if a.get("href"))


def _link_text_ratio(el: HtmlElement, total: int) -> float:
    if total == 0:
        return 0.0
    linked = sum(_text_len(a) for a in el.iter("a"))
    return min(1.0, linked / total)


def _has_form_controls(el: HtmlElement) -> bool:
    return next(el.iter("form", "input", "button", "iframe", "select"), None) is not None


def _classify(el: HtmlElement, lex: Lexicon) -> str | None:
    """The kind of boilerplate an element's role, class and id announce, if any."""
    get = el.get
    if get("role") in ("dialog", "alertdialog") or get("aria-modal") == "true":
        return "overlay"
    cls, ident = get("class"), get("id")
    if cls is None:
        if ident is None:
            return None  # most elements: nothing to classify
        cls = ""
    attrs = f"{cls} {ident or ''}"
    if len(attrs) < 3:
        return None
    return _classify_attrs(attrs, lex)


@lru_cache(maxsize=8192)
def _classify_attrs(attrs: str, lex: Lexicon) -> str | None:
    # Pages repeat the same class strings hundreds of times: classify each string once.
    attrs = attrs.lower()
    if not lex.any_class.search(attrs):
        return None
    if lex.consent_class.search(attrs):
        return "consent"
    if lex.newsletter_class.search(attrs):
        return "newsletter"
    if lex.related_class.search(attrs):
        return "related"
    if lex.promo_class.search(attrs):
        return "promo"
    return None


def _accept_candidate(el: HtmlElement, kind: str, page_len: int) -> bool:
    """Guards so that a generic class name never takes the article body with it."""
    size = _text_len(el)
    if size > _BODY_SHARE * page_len and size > _BODY_CHARS:
        return False
    if kind in ("overlay", "consent"):
        return size < _MAX_OVERLAY_CHARS
    if el.find(".//h1") is not None and kind != "newsletter":
        return False
    if kind == "newsletter":
        return size < _MAX_PLUG_CHARS or (size < _MAX_FORM_PLUG_CHARS and _has_form_controls(el))
    links = _link_count(el) + (1 if el.tag == "a" and el.get("href") else 0)
    if links == 0:
        return size < _MAX_SHELL_CHARS  # an empty shell (placeholder for a widget)
    if kind == "promo":
        return True
    # related: a list of links, or cards (links with pictures or headings)
    if links >= 2 or _link_text_ratio(el, size) >= _RELATED_LINK_SHARE:
        return True
    return next(el.iter("img", "picture", "h2", "h3", "h4"), None) is not None


def _is_signup_form(form: HtmlElement) -> bool:
    """A form asking for an e-mail address: a newsletter or subscription plug, in any language."""
    return any(
        field.get("type", "").lower() == "email" or "mail" in field.get("name", "").lower()
        for field in form.iter("input")
    )


def _signup_box(
    form: HtmlElement, max_text: int = _MAX_PLUG_CHARS, own: bool = False
) -> HtmlElement:
    """The plug around a sign-up form: its largest ancestor that is still only a plug.

    With ``own``, the form's own text (labels, fine print) does not count against
    ``max_text``, up to ``_MAX_FORM_PLUG_CHARS`` in all: the plug is its heading and pitch.
    Not for a form with a message box: that is a comment form, and the heading above it
    is what tells the paragraph pass that readers' comments follow."""
    box = form
    parent = form.getparent()
    if own and form.find(".//textarea") is None:  # a comment form heads the comments
        max_text = min(max_text + _text_len(form), _MAX_FORM_PLUG_CHARS)
    while (
        parent is not None
        and parent.tag not in _NEVER_PRUNE
        and parent.tag != "article"
        and _text_len(parent) < max_text
        and parent.find(".//h1") is None
    ):
        box = parent
        parent = parent.getparent()
    return box


# A site's own policy pages: a paragraph that links to two of them is the fine print of a
# comment box, a sign-up or a footer (in any language), not the article's text. A policy
# page's address ends in a short name (`/privacy`, `/aviso-legal`, `/terminos-y-condiciones`,
# `/datenschutzerklaerung`): words long enough to be unmistakable count anywhere in it, short
# ones only as the start of a word of it, so an article's own address (`/illegal-fentanyl-lab`,
# `/midterms-debate`) is no policy page.
_POLICY_LONG = re.compile(
    r"privacy|privacidad|privacidade|privacit|personvern|datenschutz|confidentialit|"
    r"nutzungsbedingungen|condicion|guidelines",
    re.IGNORECASE,
)
_POLICY_SHORT = re.compile(
    r"(?:^|[-_.])(?:terms|condic|termos|vilkar|conditions|cgu|normas|regeln|charte|legal)",
    re.IGNORECASE,
)
_POLICY_NAME_WORDS = 5  # words in a policy page's name at most ("terminos-y-condiciones-de-uso")
_MAX_POLICY_CHARS = 1000  # the fine print's box: a few sentences, never the article


def _is_policy_path(path: str) -> bool:
    """Whether an address's path names a policy page (see above)."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if not name or len(re.split(r"[-_.]", name)) > _POLICY_NAME_WORDS + 1:  # + an extension
        return False
    return bool(_POLICY_LONG.search(name) or _POLICY_SHORT.search(name))


def _is_policy_paragraph(el: HtmlElement, site: str | None) -> bool:
    """A paragraph linking to two or more of the site's own policy pages."""
    found = 0
    for a in el.iter("a"):
        try:
            parts = urlsplit(a.get("href") or "")
            host = parts.hostname
        except ValueError:
            continue  # a malformed address is nobody's policy page
        if parts.netloc and host != site:
            continue  # another site's policy: an article may well be about it
        if _is_policy_path(parts.path):
            found += 1
            if found >= 2:
                return True
    return False


_SHOWN_URL = re.compile(r"(?:https?://|www\.)\S+$", re.IGNORECASE)


def _is_link_paragraph(el: HtmlElement) -> bool:
    """A paragraph that is nothing but a link to another page: a plug between paragraphs."""
    anchors = [a for a in el.iter("a") if (a.get("href") or "#")[0] != "#"]
    if not anchors:
        return False
    size = _text_len(el)
    if size < _MIN_LINK_PARAGRAPH_CHARS:
        return False
    if any(_SHOWN_URL.match((a.text_content() or "").strip()) for a in anchors):
        return False  # the author prints the address: it is part of the text
    linked = sum(_text_len(a) for a in anchors)
    return linked >= _LINK_PARAGRAPH_SHARE * size


def _heading_kind(el: HtmlElement, lex: Lexicon) -> str | None:
    tag = el.tag
    if tag in _HEADING_TAGS:
        text = el.text_content()
    elif tag in _HEADING_LIKE and len(el) <= 1:
        # a heading-like element: its own short text, or one wrapped child
        text = el.text or (el[0].text if len(el) else None)
        if not text or len(text) > _MAX_HEADING * 2 or not text.strip():
            return None
        text = el.text_content()
    else:
        return None
    if len(text) > _MAX_HEADING * 2:
        return None
    norm = normalize(text)
    if not norm or len(norm) > _MAX_HEADING:
        return None
    if lex.related_headings.matches(norm):
        return "related"
    if lex.popular_headings.matches(norm):
        return "popular"
    return None


def _heading_block(heading: HtmlElement, page_len: int) -> list[HtmlElement]:
    """The elements a related-articles heading introduces (its section, or its run of links)."""
    head_norm = normalize(heading.text_content())
    block = heading
    parent = block.getparent()
    while parent is not None and parent.tag not in _NEVER_PRUNE:
        text = normalize(parent.text_content()[: len(head_norm) * 3 + _HEADING_LOOKAHEAD_CHARS])
        if not text.startswith(head_norm) or _text_len(parent) > _BODY_SHARE * page_len:
            break
        if parent.find(".//h1") is not None:
            break
        block = parent
        parent = block.getparent()
    if block is not heading and _link_count(block) > 0:
        return [block]
    # the heading sits among the article's paragraphs: take the link lists that follow it
    elements = [heading]
    for sibling in heading.itersiblings():
        if not isinstance(sibling.tag, str):
            continue
        if sibling.tag in _HEADING_TAGS or sibling.tag == "h1":
            break
        size = _text_len(sibling)
        links = _link_count(sibling) + (1 if sibling.tag == "a" else 0)
        if links == 0:
            if size == 0:
                continue
            break
        if sibling.tag in ("ul", "ol", "a", "nav", "aside", "section", "figure") or (
            _link_text_ratio(sibling, size) >= _SIBLING_LINK_SHARE
            or next(sibling.iter("img", "picture", "h3", "h4"), None) is not None
        ):
            elements.append(sibling)
            continue
        break
    return elements


def _consent_container(el: HtmlElement, lex: Lexicon) -> HtmlElement | None:
    """The overlay around a consent sentence, confirmed by an accept/reject control."""
    own = _text_len(el)
    block = el
    parent = el.getparent()
    while parent is not None and parent.tag not in _NEVER_PRUNE:
        size = _text_len(parent)
        if size > _CONSENT_GROWTH * own + _CONSENT_SLACK_CHARS or size > _MAX_CONSENT_CHARS:
            break
        block, own = parent, size
        parent = block.getparent()
    for ctl in block.iter(*_BUTTON_TAGS):
        label = normalize(ctl.text_content() or ctl.get("value") or "")
        if label and len(label) < _MAX_BUTTON_LABEL and label in lex.buttons:
            return block
    return None


def _is_inside(el: HtmlElement, removed: set[HtmlElement]) -> bool:
    return any(anc in removed for anc in el.iterancestors())


def related_links(
    elements: list[HtmlElement], base_url: str | None, skip: set[str]
) -> list[RelatedLink]:
    """Absolute http(s) links with a title, in document order, without duplicates."""
    out: list[RelatedLink] = []
    seen = set(skip)
    for element in elements:
        for a in element.iter("a"):  # the element itself first when it is a link
            href = (a.get("href") or "").strip()
            if not href or href.startswith("#"):
                continue
            title = " ".join((a.text_content() or a.get("title") or "").split())
            if len(title) < _MIN_RELATED_TITLE or " " not in title:
                continue  # a label or a picture: no need to resolve its address
            url = urljoin(base_url or "", href)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                continue
            url = urlunsplit(parts._replace(fragment=""))
            if url in seen:
                continue
            seen.add(url)
            out.append(RelatedLink(url=url, title=title))
    return out


_EMBEDDED_POSTS = XPath(
    "//blockquote[contains(concat(' ', @class, ' '), ' twitter-tweet ')"
    " or contains(@class, 'instagram-media') or contains(@class, 'tiktok-embed')]"
)


def unwrap_embedded_posts(tree: HtmlElement) -> None:
    """Lift quoted social posts out of their widget wrappers.

    An embedded post quoted by the article is part of its text, but its wrapper's class
    names ("widget", "embed") make trafilatura discard it with the ads.
    """
    for quote in _EMBEDDED_POSTS(tree):
        own = _text_len(quote)
        wrapper = quote
        parent = quote.getparent()
        while parent is not None and parent.tag not in _NEVER_PRUNE and parent.tag != "p":
            if len(parent) != 1 and _text_len(parent) > own + _WRAPPER_SLACK_CHARS:
                break
            wrapper, parent = parent, parent.getparent()
        quote.attrib.pop("class", None)
        if wrapper is not quote and parent is not None:
            quote.tail = wrapper.tail
            parent.replace(wrapper, quote)


_BODY_PARTS = XPath(
    "//div[p][contains(@class, 'body') or contains(@class, 'content')"
    " or contains(@class, 'text')][contains(@class, 'article') or contains(@class, 'story')"
    " or contains(@class, 'post') or contains(@class, 'entry')]"
)
_NOT_BODY = ("comment", "reply", "review", "teaser", "related", "card", "excerpt", "summary")


def merge_split_bodies(tree: HtmlElement) -> None:
    """Join an article body that the page splits into several containers (ads between).

    Extractors pick one container; when the same article-body class repeats with
    paragraphs in each, the later parts are moved into the first.
    """
    groups: dict[str, list[HtmlElement]] = {}
    for div in _BODY_PARTS(tree):
        cls = div.get("class", "")
        if not any(t in cls.lower() for t in _NOT_BODY):
            groups.setdefault(cls, []).append(div)
    for parts in groups.values():
        if len(parts) < 2 or len(parts) > _MAX_BODY_PARTS:
            continue
        first = parts[0]
        for part in parts[1:]:
            if any(anc in parts for anc in part.iterancestors()):
                continue
            first.extend(list(part))
            parent = part.getparent()
            if parent is not None:
                parent.remove(part)


def prune_boilerplate(
    tree: HtmlElement,
    base_url: str | None = None,
    page_urls: set[str] | None = None,
    lex: Lexicon = LEXICON,
) -> list[RelatedLink]:
    """Remove overlays, plugs and lists of other articles from ``tree`` in place.

    Returns the links of the related-article blocks that were removed.
    """
    body = tree.find("body")
    if body is None:
        body = tree
    page_len = _text_len(body) or 1
    site = urlsplit(base_url or "").hostname
    candidates: list[tuple[HtmlElement, str]] = []
    for el in body.iter():
        tag = el.tag
        if not isinstance(tag, str) or tag in _NEVER_PRUNE or tag in _NO_TEXT_TAGS:
            continue
        kind = _classify(el, lex)
        if kind is not None:
            candidates.append((el, kind))
            continue
        kind = _heading_kind(el, lex)
        if kind is not None:
            candidates.append((el, "heading-" + kind))
            continue
        if tag in _CONSENT_BLOCKS and el.text and lex.is_consent_text(el.text):
            candidates.append((el, "consent-text"))
        elif tag == "p" and _is_link_paragraph(el):
            candidates.append((el, "link-paragraph"))
        elif tag == "form" and _is_signup_form(el):
            candidates.append((el, "signup-form"))
        elif tag == "p" and _is_policy_paragraph(el, site):
            candidates.append((el, "policy"))
        elif tag in _TEASER_CONTAINERS and len(el) >= _MIN_TEASERS:
            candidates.append((el, "teasers"))

    removed: set[HtmlElement] = set()
    related: list[HtmlElement] = []
    for el, kind in candidates:
        if removed and (el in removed or _is_inside(el, removed)):
            continue
        if kind.startswith("heading-"):
            targets = _heading_block(el, page_len)
            if kind == "heading-related":
                related.extend(targets)
        elif kind == "link-paragraph":
            targets = [el]
        elif kind == "signup-form":
            targets = [_signup_box(el, own=True)]
        elif kind == "policy":
            targets = [_signup_box(el, _MAX_POLICY_CHARS)]
        elif kind == "teasers":
            block = _teaser_block(el, page_len)
            targets = [block] if block is not None else []
            related.extend(targets)
        elif kind == "consent-text":
            container = _consent_container(el, lex)
            targets = [container] if container is not None else []
        elif _accept_candidate(el, kind, page_len):
            targets = [el]
            if kind == "related":
                related.append(el)
        else:
            continue
        removed.update(targets)
        if tracing_on():
            for target in targets:
                note(kind, target.text_content())

    links = related_links(related, base_url, page_urls or set())
    for el in removed:
        parent = el.getparent()
        if parent is not None:
            # keep the tail: it belongs to the parent's text, not to the removed block
            if el.tail and el.tail.strip():
                previous = el.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + el.tail
                else:
                    parent.text = (parent.text or "") + el.tail
            parent.remove(el)
    return links
