"""The fixed cast for every test module.

alice is an agent, dora a dispatcher, eric an engineer in the east region, wendy an engineer in
the west region, sam a supervisor, mike a manager, ada an admin; nobody has no role at all.
"""

import pytest

from kefu.accounts.models import Department, Region
from kefu.accounts.services import staff_create
from kefu.customers import services as customer_services

PASSWORD = "kefu-Test-2026"


@pytest.fixture
def working_calendar(db):
    """The seeded working calendar, re-seeded if a transactional test flushed the table."""
    from kefu.core import workcalendar
    from kefu.core.calendar_seed import sync
    from kefu.core.models import CalendarDay

    if not CalendarDay.objects.filter(date__year=2026).exists():
        sync(CalendarDay)
    workcalendar.clear_cache()
    yield
    workcalendar.clear_cache()


@pytest.fixture
def regions(db):
    east = Region.objects.create(code="east", name="华东片区")
    west = Region.objects.create(code="west", name="西南片区")
    return {"east": east, "west": west}


@pytest.fixture
def department(db):
    return Department.objects.create(code="cs", name="客服中心")


def _staff(username, role, name, number, regions=(), department=None, **extra):
    return staff_create(
        username=username, password=PASSWORD, display_name=name, employee_no=number, role=role,
        regions=regions, department=department, **extra,
    )


@pytest.fixture
def agent(regions, department):
    return _staff("alice", "agent", "王丽", "A001", department=department)


@pytest.fixture
def dispatcher(regions, department):
    return _staff("dora", "dispatcher", "赵敏", "D001", department=department)


@pytest.fixture
def engineer(regions):
    return _staff("eric", "engineer", "陈工", "E001", regions=[regions["east"]], engineer_level="L2")


@pytest.fixture
def other_region_engineer(regions):
    return _staff("wendy", "engineer", "吴工", "E002", regions=[regions["west"]], engineer_level="L1")


@pytest.fixture
def supervisor(regions, department):
    return _staff("sam", "supervisor", "孙主管", "S001", department=department, level="senior")


@pytest.fixture
def manager(regions):
    return _staff("mike", "manager", "马经理", "M001")


@pytest.fixture
def admin_user(regions):
    return _staff("ada", "admin", "管理员", "X001")


@pytest.fixture
def nobody(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("nobody", password=PASSWORD)


@pytest.fixture
def customer(agent, regions):
    """张三明, an east-region VIP with a phone, an ID number, an address and one asset."""
    c = customer_services.customer_create(
        actor=agent,
        name="张三明",
        kind="vip",
        region=regions["east"],
        id_number="110101199001011234",
        contacts=[{"name": "张三明", "phones": ["138 1234 5678"], "is_primary": True}],
        addresses=["上海市浦东新区世纪大道100号"],
        tags=["学校"],
    )
    customer_services.asset_create(
        actor=agent, customer=c, product_model="EPSON L3150", serial="LFX123456789",
        purchase_date=__import__("datetime").date(2025, 3, 1),
        warranty_end=__import__("datetime").date(2027, 3, 1),
    )
    return c


@pytest.fixture
def west_customer(agent, regions):
    return customer_services.customer_create(
        actor=agent, name="成都七中", party_type="organisation", kind="major",
        region=regions["west"], phones=["028-8765 4321"],
    )


@pytest.fixture(autouse=True)
def _fresh_sla_policy_cache():
    """A test's policies, configuration and staff are rolled back with it: never let the next
    test use them from a per-process cache."""
    from kefu.accounts import backends
    from kefu.core import compiled
    from kefu.tickets import config, sla

    for clear in (sla.clear_policy_cache, config.clear, backends.clear, compiled.clear_all):
        clear()
    yield
    for clear in (sla.clear_policy_cache, config.clear, backends.clear, compiled.clear_all):
        clear()
