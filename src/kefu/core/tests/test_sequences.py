import threading

import pytest
from django.db import connection, transaction

from kefu.core.models import NumberSequence
from kefu.core.sequences import next_number, next_value


@pytest.mark.django_db
def test_it_numbers_per_prefix_and_period():
    assert next_number("CS", "202611") == "CS202611001"
    assert next_number("CS", "202611") == "CS202611002"
    assert next_number("CS", "202612") == "CS202612001"
    assert next_number("SF", "202611") == "SF202611001"


@pytest.mark.django_db
def test_width_grows_past_999_rather_than_wrapping():
    NumberSequence.objects.create(prefix="CS", period="202611", last_value=999)
    assert next_number("CS", "202611") == "CS2026111000"


@pytest.mark.django_db
def test_a_rolled_back_draw_is_given_back():
    next_number("CS", "202611")
    with pytest.raises(RuntimeError), transaction.atomic():
        next_number("CS", "202611")
        raise RuntimeError("the ticket insert failed")
    assert next_number("CS", "202611") == "CS202611002"


@pytest.mark.django_db(transaction=True)
def test_concurrent_draws_are_distinct_and_gapless():
    """20 threads draw 1,000 numbers (PostgreSQL: row lock; SQLite: IMMEDIATE transactions)."""
    threads, per_thread = 20, 50
    drawn, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work():
        try:
            barrier.wait()
            for _ in range(per_thread):
                value = next_value("CS", "202611")
                with lock:
                    drawn.append(value)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    assert sorted(drawn) == list(range(1, threads * per_thread + 1))
    assert NumberSequence.objects.get(prefix="CS", period="202611").last_value == 1000
