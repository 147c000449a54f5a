"""The extraction trace (which rule dropped which text) and the paragraph rules it showed."""

from __future__ import annotations

from benchmarks.dropped import missed_lines
from benchmarks.pagesets import Page
from crawler.extraction.bylines import drop_edge_bylines
from crawler.extraction.extract import extract_article
from crawler.extraction.paragraphs import clean_paragraphs
from crawler.extraction.trace import note, tracing, tracing_on

BODY = "".join(
    f"<p>Paragraph {i} of a story about the harbour council's new budget, with enough words "
    f"in it to count as article text for the extractor.</p>"
    for i in range(1, 7)
)


def test_note_is_a_no_op_outside_a_tracing_block() -> None:
    assert not tracing_on()
    note("rule", "text")  # nothing listens: nothing fails, nothing is kept
    with tracing() as record:
        assert tracing_on()
        note("rule", "text")
    assert record == [("rule", "text")]
    assert not tracing_on()


def test_trace_names_the_rule_that_dropped_each_text() -> None:
    html = (
        "<html><head><title>Harbour budget</title></head><body><article><h1>Harbour budget</h1>"
        f"{BODY}<div class='related-posts'><h3>Related</h3><ul>"
        "<li><a href='/a'>Another story about the council</a></li>"
        "<li><a href='/b'>A third story about the harbour</a></li></ul></div>"
        "</article></body></html>"
    )
    with tracing() as record:
        article = extract_article(html, "https://example.org/news/harbour-budget")
    rules = {rule for rule, _ in record}
    assert "Another story" not in article.text
    assert any("Another story about the council" in text for _, text in record)
    assert rules & {"related", "heading-related", "teasers"}
    assert ("title", "Harbour budget") in record or "Harbour budget" not in article.text


def test_trace_records_paragraph_rules_and_edge_bylines() -> None:
    lines = ["Title of the story", *(f"Paragraph {i} of the story, long enough." for i in range(4))]
    with tracing() as record:
        clean_paragraphs("\n".join(lines), ("Title of the story",))
        drop_edge_bylines("\n\n".join(["By Maria Popova", *(p * 3 for p in lines[1:])]))
    assert ("title", "Title of the story") in record
    assert ("edge-byline", "By Maria Popova") in record


def test_a_stamp_inside_a_sentence_is_the_articles_text() -> None:
    note_line = (
        "Editor's note: This story was updated at 5:45 p.m. ET to include details from the "
        "NASA telecon."
    )
    assert clean_paragraphs(note_line) == note_line
    # a dateline's stamp still goes, whatever punctuation surrounds it
    assert clean_paragraphs("Por Juan Pérez · Actualizado: 13:47 hrs") == "Por Juan Pérez"
    assert clean_paragraphs("Updated at 1:23 p.m.") == ""
    assert "13:47" not in clean_paragraphs("Tijuana, 12 de mayo de 2025. Actualizado: 13:47 hrs.")


def test_edge_bylines_in_every_language_and_with_name_particles() -> None:
    body = [
        f"Paragraph {i} of the story, with enough words in it to be one of its real paragraphs."
        for i in range(4)
    ]
    for byline in (
        "By Maria von Trapp",
        "escrito por Juan Pérez",
        "Escrito por Ana de la Cruz",
        "texte de Claire Dubois",
        "Von Anna Schmidt",
    ):
        assert drop_edge_bylines("\n\n".join([byline, *body])) == "\n\n".join(body), byline
    # a sentence that starts like a byline is the article's
    for line in ("Por la mañana", "By the river"):
        text = "\n\n".join([line, *body])
        assert drop_edge_bylines(text) == text, line


def test_dropped_benchmark_puts_a_missed_gold_line_down_to_its_rule() -> None:
    teaser = "Another story about the council and its harbour"
    html = (
        "<html><head><title>Harbour budget</title></head><body><article>"
        f"<h1>Harbour budget</h1>{BODY}<div class='related-posts'><ul>"
        f"<li><a href='/a'>{teaser}</a></li><li><a href='/b'>A third story about the harbour</a>"
        "</li></ul></div></article></body></html>"
    )
    gold = "\n".join([f"Paragraph {i} of a story" for i in range(1, 3)] + [teaser])
    page = Page("dev", "case", html.encode(), gold_text=gold, origin_url="https://example.org/x")
    missed = missed_lines(page)
    assert [(line, rule) for rule, line, _ in missed] == [(teaser, "related")]
