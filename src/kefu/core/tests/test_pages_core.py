"""The home page and the access log page (/core/access-log/): who revealed what, filtered by
record and by user, in a bounded number of queries."""

import pytest
from django.test import Client

from kefu.core.access import reason_label
from kefu.core.models import AccessLog
from kefu.customers import services

pytestmark = pytest.mark.django_db

URL = "/core/access-log/"
ACCESS_LOG_QUERY_BUDGET = 10


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def reveal(user, customer, reason="callback"):
    phone = customer.phones.first()
    return services.customer_reveal(actor=user, customer=customer, field="phone",
                                    item_id=phone.pk, reason=reason)


def table_rows(response):
    return list(response.context["page"])


def test_it_lists_who_revealed_what_and_why(supervisor, agent, customer):
    reveal(agent, customer)
    response = logged_in(supervisor).get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    row = AccessLog.objects.get()
    assert "王丽" in body  # alice's display name
    assert row.field in body
    assert reason_label("callback") in body
    assert "13812345678" not in body  # the log says what was seen, never the value


def test_it_filters_by_record(supervisor, agent, customer, west_customer):
    reveal(agent, customer)
    reveal(agent, west_customer, reason="ticket")
    response = logged_in(supervisor).get(URL, {"object": f"customers.customer:{customer.pk}"})
    assert [r.object_id for r in table_rows(response)] == [str(customer.pk)]
    other = logged_in(supervisor).get(URL, {"object": f"customers.customer:{west_customer.pk}"})
    assert [r.reason for r in table_rows(other)] == [reason_label("ticket")]


def test_it_filters_by_user(supervisor, agent, dispatcher, customer):
    reveal(agent, customer)
    reveal(dispatcher, customer)
    response = logged_in(supervisor).get(URL, {"user": "dora"})
    assert [r.user for r in table_rows(response)] == [dispatcher]


def test_an_unknown_filter_shows_an_empty_table(supervisor, agent, customer):
    reveal(agent, customer)
    response = logged_in(supervisor).get(URL, {"object": "rubbish"})
    assert response.status_code == 200
    assert table_rows(response) == []


def test_a_page_out_of_range_shows_the_last_page(supervisor, agent, customer):
    reveal(agent, customer)
    response = logged_in(supervisor).get(URL, {"page": "999"})
    assert response.status_code == 200
    assert len(table_rows(response)) == 1


def test_it_pages_50_rows_at_a_time_newest_first(supervisor, agent, customer):
    for i in range(55):
        reveal(agent, customer, reason=f"第{i}次")
    client = logged_in(supervisor)
    first = client.get(URL)
    assert len(table_rows(first)) == 50
    assert table_rows(first)[0].reason == "第54次"
    assert 'href="?page=2"' in first.content.decode()
    assert len(table_rows(client.get(URL, {"page": 2}))) == 5


def test_the_next_page_keeps_the_filter(supervisor, agent, customer):
    for _ in range(51):
        reveal(agent, customer)
    response = logged_in(supervisor).get(URL, {"user": "alice"})
    assert 'href="?user=alice&amp;page=2"' in response.content.decode()


@pytest.mark.parametrize("count", [3, 40])
def test_the_query_count_does_not_grow_with_the_rows(supervisor, agent, dispatcher, customer,
                                                     django_assert_max_num_queries, count):
    for i in range(count):
        reveal(agent if i % 2 else dispatcher, customer)
    client = logged_in(supervisor)
    with django_assert_max_num_queries(ACCESS_LOG_QUERY_BUDGET):
        response = client.get(URL)
    assert len(table_rows(response)) == count


def test_the_home_page_counts_the_customers_the_user_may_see(engineer, agent, customer,
                                                            west_customer):
    assert logged_in(agent).get("/").context["customer_count"] == 2
    assert logged_in(engineer).get("/").context["customer_count"] == 1


def test_the_home_page_needs_a_login():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_gets_a_home_page_without_customers(nobody):
    response = logged_in(nobody).get("/")
    assert response.status_code == 200
    assert 'id="home-search"' not in response.content.decode()
