"""标准话术 and 服务禁语 (B13): the wording check before a customer-visible note is saved, and the
phrase buttons partial."""

import pytest
from django.template.loader import render_to_string

from kefu.core.errors import ValidationFailed
from kefu.tickets import phrases, services
from kefu.tickets.models import ForbiddenPhrase, Phrase, TicketEvent

pytestmark = pytest.mark.django_db


def notes(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, verb="note"))


def refusal(callable_, **kwargs):
    with pytest.raises(ValidationFailed) as info:
        callable_(**kwargs)
    return info.value


# ---------------------------------------------------------------------------------------------
# check_wording


def test_the_seeded_phrases_are_there():
    assert ForbiddenPhrase.objects.get(text="不归我们管").severity == "block"
    assert ForbiddenPhrase.objects.get(text="可能").severity == "warn"


def test_clean_text_passes_and_returns_nothing():
    assert phrases.check_wording("您好，我们已为您核实，明天上午十点前完成。") == []


def test_a_block_phrase_is_refused_with_its_suggestion():
    exc = refusal(phrases.check_wording, text="这个不归我们管，您问厂家吧")
    assert exc.code == "forbidden_phrase"
    assert str(exc.message) == str(phrases.BLOCKED_SUMMARY)
    [message] = exc.fields["text"]
    assert "不归我们管" in message
    assert "这个问题我帮您联系负责的同事，由他们尽快与您联系。" in message


def test_every_block_phrase_is_named_and_the_field_is_the_callers():
    exc = refusal(phrases.check_wording, text="不知道，没办法", field="solution")
    assert list(exc.fields) == ["solution"]
    text = " ".join(exc.fields["solution"])
    assert "不知道" in text and "没办法" in text
    assert "我们一起看看还有哪些可行的方案。" in text


def test_acknowledging_never_lets_a_block_phrase_through():
    exc = refusal(phrases.check_wording, text="这不是我们的问题", acknowledged=True)
    assert exc.code == "forbidden_phrase"


def test_a_warn_phrase_asks_to_rephrase_or_confirm():
    exc = refusal(phrases.check_wording, text="大概明天能修好")
    assert exc.code == "wording_warning"
    messages = exc.fields["text"]
    assert any("大概" in m and "请给出确定的时间或结论" in m for m in messages)
    assert str(phrases.CONFIRM_WORDING) in messages
    assert "措辞已确认" in str(phrases.CONFIRM_WORDING)


def test_an_acknowledged_warn_phrase_passes_and_is_returned():
    flagged = phrases.check_wording("大概明天能修好", acknowledged=True)
    assert [p.text for p in flagged] == ["大概"]


def test_block_and_warn_together_refuse_as_block_and_name_both():
    exc = refusal(phrases.check_wording, text="可能不归我们管")
    assert exc.code == "forbidden_phrase"
    text = " ".join(exc.fields["text"])
    assert "不归我们管" in text and "可能" in text


@pytest.mark.parametrize("text", ["不 知 道", "不知\u200b道", "我也不大清楚呢"])
def test_spacing_and_invisible_characters_do_not_hide_a_phrase(text):
    assert refusal(phrases.check_wording, text=text).code == "forbidden_phrase"


def test_matching_ignores_case_and_full_width_forms():
    ForbiddenPhrase.objects.create(text="No Way", severity="block", suggestion="我们一起想办法。")
    for text in ("no way, sorry", "ＮＯ ＷＡＹ", "NO　WAY"):
        assert refusal(phrases.check_wording, text=text).code == "forbidden_phrase", text
    assert phrases.check_wording("piano wayfarer") == []


def test_a_phrase_without_suggestion_still_gets_a_message():
    ForbiddenPhrase.objects.create(text="随便你", severity="block")
    [message] = refusal(phrases.check_wording, text="随便你").fields["text"]
    assert message == str(phrases.BLOCKED_NO_SUGGESTION) % {"phrase": "随便你"}


def test_inactive_phrases_are_ignored():
    ForbiddenPhrase.objects.filter(text="不知道").update(is_active=False)
    assert phrases.check_wording("我不知道") == []


def test_an_edited_list_takes_effect_on_the_next_check():
    assert phrases.check_wording("稍等片刻") == []
    row = ForbiddenPhrase.objects.create(text="稍等片刻", severity="warn", suggestion="请说明具体时间。")
    assert refusal(phrases.check_wording, text="稍等片刻").code == "wording_warning"
    row.severity = "block"
    row.save()
    assert refusal(phrases.check_wording, text="稍等片刻").code == "forbidden_phrase"
    row.delete()
    assert phrases.check_wording("稍等片刻") == []


def test_the_check_is_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        phrases.check_wording("您好，已为您处理完毕。")


# ---------------------------------------------------------------------------------------------
# ticket_add_note


def test_a_customer_visible_note_with_a_block_phrase_is_refused_and_nothing_saved(make_ticket, agent):
    ticket = make_ticket()
    exc = refusal(services.ticket_add_note, actor=agent, ticket=ticket, text="这个不归我们管",
                  customer_visible=True)
    assert exc.code == "forbidden_phrase"
    assert "这个问题我帮您联系负责的同事" in exc.fields["text"][0]
    assert notes(ticket) == []
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None and ticket.version == 1


def test_a_block_phrase_is_refused_even_when_acknowledged(make_ticket, agent):
    ticket = make_ticket()
    refusal(services.ticket_add_note, actor=agent, ticket=ticket, text="没办法",
            customer_visible=True, acknowledge_wording=True)
    assert notes(ticket) == []


def test_a_warn_phrase_is_refused_unless_acknowledged(make_ticket, agent):
    ticket = make_ticket()
    exc = refusal(services.ticket_add_note, actor=agent, ticket=ticket, text="可能是墨盒问题",
                  customer_visible=True)
    assert exc.code == "wording_warning"
    assert notes(ticket) == []
    event = services.ticket_add_note(actor=agent, ticket=ticket, text="可能是墨盒问题",
                                     customer_visible=True, acknowledge_wording=True)
    assert event.customer_visible and event.summary == "可能是墨盒问题"
    assert event.data == {"wording_acknowledged": ["可能"]}
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


def test_an_internal_note_is_not_checked(make_ticket, agent):
    ticket = make_ticket()
    event = services.ticket_add_note(actor=agent, ticket=ticket, text="客户说不归我们管，需核实")
    assert not event.customer_visible
    assert event.data == {}


def test_a_clean_customer_visible_note_is_saved(make_ticket, agent):
    ticket = make_ticket()
    event = services.ticket_add_note(actor=agent, ticket=ticket, text="已安排工程师明天上门。",
                                     customer_visible=True)
    assert notes(ticket) == [event]
    assert event.data == {}


def test_the_note_follows_an_edited_list(make_ticket, agent):
    ticket = make_ticket()
    ForbiddenPhrase.objects.filter(text="不知道").update(is_active=False)
    services.ticket_add_note(actor=agent, ticket=ticket, text="我不知道", customer_visible=True)
    ForbiddenPhrase.objects.filter(text="不知道").update(is_active=True)
    refusal(services.ticket_add_note, actor=agent, ticket=ticket, text="我不知道",
            customer_visible=True)
    assert len(notes(ticket)) == 1


# ---------------------------------------------------------------------------------------------
# phrases_by_kind and the partial


def test_phrases_are_grouped_by_kind_in_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        groups = phrases.phrases_by_kind()
    assert [g.kind for g in groups] == ["greeting", "soothing", "progress", "closing"]
    assert groups[0].label == "问候语"
    assert all(p.kind == g.kind for g in groups for p in g.phrases)
    assert sum(len(g.phrases) for g in groups) == Phrase.objects.filter(is_active=True).count()


def test_inactive_phrases_and_empty_kinds_are_left_out():
    Phrase.objects.filter(kind="soothing").update(is_active=False)
    Phrase.objects.filter(kind="closing").first().delete()
    groups = phrases.phrases_by_kind()
    assert "soothing" not in [g.kind for g in groups]
    assert len([g for g in groups if g.kind == "closing"][0].phrases) == 1


def test_the_partial_renders_buttons_for_the_target():
    Phrase.objects.create(kind="greeting", text='您好"<b>"', sort_order=99)
    html = render_to_string("tickets/_phrases.html", {
        "phrases": phrases.phrases_by_kind(), "phrase_target": "id_note_text"})
    assert 'data-phrases-for="id_note_text"' in html
    assert html.count('data-phrase-target="id_note_text"') == Phrase.objects.filter(is_active=True).count()
    assert "问候语" in html and "结束语" in html
    assert 'data-phrase-text="您好&quot;&lt;b&gt;&quot;"' in html
    assert "<b>" not in html
    assert 'type="button"' in html


def test_the_partial_renders_nothing_without_phrases():
    assert render_to_string("tickets/_phrases.html", {"phrases": [], "phrase_target": "x"}).strip() == ""
