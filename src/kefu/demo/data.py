"""The demo data set: regions, departments, the staff cast, a few hundred customers with assets
and a desk of about 120 tickets over the 45 days before the demo today (see ``tickets.py``).

Deterministic (a fixed random seed) and idempotent: loading twice changes nothing.
"""

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext

from kefu.accounts.models import Department, Region, Skill
from kefu.accounts.services import staff_create
from kefu.customers import services as customer_services
from kefu.customers.models import Customer
from kefu.demo import tickets as demo_tickets

DEMO_PASSWORD = "kefu2026"

REGIONS = [
    ("east", "华东片区"), ("south", "华南片区"), ("north", "华北片区"),
    ("west", "西南片区"), ("central", "华中片区"),
]
DEPARTMENTS = [
    ("cs", "客服中心"), ("tech", "技术支持部"), ("product", "产品部"),
    ("ops", "运营部"), ("finance", "财务部"), ("rnd", "研发部"),
]
SKILLS = [
    ("pc", "PC"), ("server", "服务器"), ("hardware", "硬件"),
    ("system", "系统"), ("application", "应用"),
]
# username, display name, employee no, role, department, level, engineer level, regions, skills
CAST = [
    ("agent", "王小丽", "A001", "agent", "cs", "junior", "", [], []),
    ("agent2", "李晓燕", "A002", "agent", "cs", "intermediate", "", [], []),
    ("dispatcher", "赵建国", "D001", "dispatcher", "cs", "senior", "", ["east", "north"], []),
    ("engineer", "陈志强", "E001", "engineer", "tech", "intermediate", "L2", ["east"], ["pc", "hardware"]),
    ("engineer2", "刘海涛", "E002", "engineer", "tech", "senior", "L3", ["south", "west"], ["server", "system"]),
    ("supervisor", "孙慧敏", "S001", "supervisor", "cs", "senior", "", [], []),
    ("manager", "周国平", "M001", "manager", "cs", "senior", "", [], []),
    ("admin", "系统管理员", "X001", "admin", "", "senior", "", [], []),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红梅鑫波斌宇浩凯健俊帆帅旭宁龙林欣佳雪琳晨阳"
ORGS = [
    "第一中学", "实验小学", "外国语学校", "职业技术学院", "人民医院", "图书馆", "科技有限公司",
    "物流有限公司", "商贸有限公司", "汽车销售服务有限公司", "物业管理有限公司", "体育中心",
]
CITIES = {
    "east": ["上海", "杭州", "南京", "苏州", "宁波"],
    "south": ["广州", "深圳", "东莞", "佛山", "厦门"],
    "north": ["北京", "天津", "石家庄", "太原", "济南"],
    "west": ["成都", "重庆", "昆明", "贵阳", "西安"],
    "central": ["武汉", "长沙", "郑州", "南昌", "合肥"],
}
PLATE_PREFIX = {"上海": "沪A", "北京": "京A", "广州": "粤A", "深圳": "粤B", "成都": "川A", "武汉": "鄂A",
                "杭州": "浙A", "南京": "苏A", "重庆": "渝A", "长沙": "湘A"}
PRODUCTS = [
    ("EPSON L3150 打印机", "printer"), ("理光 MP 2014 复印机", "copier"), ("联想 ThinkCentre M720 台式机", "pc"),
    ("浪潮 NF5280M6 服务器", "server"), ("希沃 交互智能平板 86 寸", "board"), ("比亚迪 秦PLUS DM-i", "car"),
    ("五菱 宏光MINIEV", "car"), ("运动木地板 22mm 枫木", "floor"), ("华为 MateBook 14", "pc"),
]
STREETS = ["人民路", "解放路", "建设路", "中山路", "和平路", "新华路", "胜利路", "文化路", "长江路", "友谊路"]
TAGS = ["学校", "重点客户", "续约中", "曾投诉", "新装机", "保修将到期"]
KINDS = [("ordinary", 50), ("contract", 20), ("rental", 10), ("vip", 12), ("major", 8)]

VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def is_loaded():
    return get_user_model().objects.filter(username="agent").exists()


def _pick_weighted(rng, items):
    total = sum(w for _k, w in items)
    x = rng.uniform(0, total)
    for key, weight in items:
        x -= weight
        if x <= 0:
            return key
    return items[-1][0]


def _phone(rng):
    return rng.choice(["138", "139", "186", "135", "158", "177", "189"]) + f"{rng.randrange(10**8):08d}"


def _id_number(rng, birthday):
    body = f"{rng.choice(['110101', '310104', '440305', '510107', '420106'])}{birthday:%Y%m%d}{rng.randrange(1000):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


@transaction.atomic
def load(customers=300, seed=2026, out=None, tickets=None):
    """Load the demo set; returns False (and does nothing) if it is already there.

    ``tickets``: how many tickets; by default 120, fewer for small sets (4 per customer).
    """
    if is_loaded():
        return False
    rng = random.Random(seed)
    regions = {code: Region.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in REGIONS}
    depts = {code: Department.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in DEPARTMENTS}
    skills = {code: Skill.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in SKILLS}
    actor = None
    staff = {}
    for username, name, number, role, dept, level, eng_level, region_codes, skill_codes in CAST:
        user = staff_create(
            username=username, password=DEMO_PASSWORD, display_name=name, employee_no=number, role=role,
            department=depts.get(dept), level=level, engineer_level=eng_level,
            regions=[regions[c] for c in region_codes], skills=[skills[c] for c in skill_codes],
            phone=_phone(rng),
        )
        if role == "admin":
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        if username == "agent":
            actor = user
        staff[username] = user
    today = demo_tickets.DEMO_NOW.date()
    created = []
    for i in range(customers):
        region_code = rng.choice(list(CITIES))
        city = rng.choice(CITIES[region_code])
        is_org = rng.random() < 0.35
        kind = _pick_weighted(rng, KINDS)
        birthday = datetime.date(rng.randrange(1960, 2002), rng.randrange(1, 13), rng.randrange(1, 29))
        if is_org:
            name = city + rng.choice(["市", ""]) + rng.choice(ORGS)
            if Customer.objects.filter(name=name).exists():
                name += f"（{rng.choice(STREETS)}校区）"
            contact = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            contacts = [{"name": contact, "role": rng.choice(["信息中心主任", "总务处", "采购", "行政"]),
                         "phones": [_phone(rng)], "is_primary": True}]
            phones = [f"0{rng.randrange(10, 99)}-{rng.randrange(10**7, 10**8)}"] if rng.random() < 0.5 else []
        else:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
            contacts = [{"name": name, "phones": [_phone(rng)], "is_primary": True}]
            phones = [_phone(rng)] if rng.random() < 0.2 else []
        customer = customer_services.customer_create(
            actor=actor, name=name, party_type="organisation" if is_org else "person", kind=kind,
            outlet_level=rng.choice(["", "", "1", "2"]), region=regions[region_code],
            birthday=None if is_org else birthday,
            id_number="" if is_org else _id_number(rng, birthday),
            notes=rng.choice(["", "", "偏好上午上门", "需提前电话预约", "合同每年三月续签"]),
            tags=rng.sample(TAGS, k=rng.choice([0, 0, 1, 2])),
            contacts=contacts, phones=phones,
            addresses=[f"{city}市{rng.choice(STREETS)}{rng.randrange(1, 500)}号"],
        )
        created.append(customer.pk)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            product, family = rng.choice(PRODUCTS)
            purchase = today - datetime.timedelta(days=rng.randrange(10, 1500))
            warranty_years = 3 if family in ("car", "floor") else rng.choice([1, 2, 3])
            fields = {
                "purchase_date": purchase,
                "warranty_end": purchase.replace(year=purchase.year + warranty_years) if not (
                    purchase.month == 2 and purchase.day == 29) else purchase + datetime.timedelta(days=365 * warranty_years),
                "contract_number": f"HT{purchase:%Y}{rng.randrange(1000, 9999)}" if kind in ("contract", "rental", "major") else "",
            }
            if family == "car":
                fields["serial"] = "L" + "".join(rng.choice(VIN_CHARS) for _ in range(16))
                fields["plate"] = PLATE_PREFIX.get(city, "沪A") + "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(5))
            else:
                fields["serial"] = f"SN{rng.randrange(10**9, 10**10)}"
            if family in ("board", "floor", "copier", "server"):
                agreed = purchase + datetime.timedelta(days=rng.randrange(3, 15))
                fields["agreed_install_date"] = agreed
                if agreed < today:
                    fields["installed_on"] = agreed + datetime.timedelta(days=rng.choice([0, 0, 1, 3]))
            customer_services.asset_create(actor=actor, customer=customer, product_model=product, **fields)
        if out and (i + 1) % 50 == 0:
            out(gettext("  客户 %(done)s/%(total)s") % {"done": i + 1, "total": customers})
    demo_tickets.load_tickets(
        rng=random.Random(seed + 1),
        customers=list(Customer.objects.filter(pk__in=created).order_by("pk")
                       .select_related("region").prefetch_related("assets", "contacts")),
        staff=staff, departments=depts, families=dict(PRODUCTS),
        count=demo_tickets.default_count(customers) if tickets is None else tickets, out=out,
    )
    return True
