import pytest
from django.test import Client


@pytest.mark.django_db
def test_the_customer_page_lists_the_customers_tickets(make_ticket, agent, customer):
    ticket = make_ticket()
    client = Client()
    client.force_login(agent)
    body = client.get(f"/customers/{customer.pk}/").content.decode()
    assert ticket.number in body
    assert "打印机卡纸" in body
