"""Demo tickets: a living desk on the demo today (2026-11-23 10:30, Asia/Shanghai).

About 120 tickets over the 45 days before the demo today, each played through the ticket
services with ``now=`` set to the moment it happened: intake, routing (assigned by the
dispatcher, or queued in the pool and claimed), acknowledgements synced to the customer,
progress notes, holds, chases, escalations, resolution, confirmation, closing and reopening.
Every status is present, some open tickets are past their resolution deadline and some are due
within hours. Deterministic: the same seed gives the same desk.
"""

import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from kefu.core import workcalendar
from kefu.tickets import services
from kefu.tickets.models import Channel, Priority, ServiceMode, Ticket, TicketType

SH = ZoneInfo("Asia/Shanghai")
DEMO_NOW = datetime.datetime(2026, 11, 23, 10, 30, tzinfo=SH)
SPAN_DAYS = 45
DEFAULT_TICKETS = 120
TICKETS_PER_CUSTOMER = 4  # small demo sets (tests, `kefu demo --customers 5`) get fewer tickets


class Issue(NamedTuple):
    type: str  # TicketType code
    family: str | None  # asset family the issue is about (PRODUCTS in data.py), None: no asset
    subject: str
    description: str
    solution: str
    result: str
    mode: str = "phone"  # ServiceMode code
    priority: str | None = None  # fixed priority, None: drawn by weight
    error: str = ""


ISSUES = [
    # 打印机
    Issue("fault", "printer", "打印机卡纸",
          "打印时频繁卡纸，纸张在出纸口褶皱，重新放纸后仍然卡纸。",
          "清理进纸通道异物，更换搓纸轮", "连续打印 50 页无卡纸，客户确认恢复正常",
          mode="onsite", error="卡纸指示灯闪烁"),
    Issue("fault", "printer", "打印机打印空白页",
          "墨仓有墨，但打印出来是空白页，喷嘴检查图案缺色。",
          "远程指导执行两次打印头清洗和一次强力清洗", "喷嘴检查图案完整，打印正常", mode="remote"),
    Issue("fault", "printer", "打印机无法连接无线网络",
          "更换路由器后打印机连不上 Wi-Fi，电脑搜索不到打印机。",
          "远程协助重新配置 Wi-Fi 并重装打印驱动", "电脑和手机均可正常打印",
          mode="remote", error="Wi-Fi 指示灯橙色闪烁"),
    Issue("fault", "printer", "打印机提示废墨垫已满",
          "打印机停止工作，电脑提示需要维修，墨水灯和纸张灯交替闪烁。",
          "更换废墨垫并清零计数器", "设备恢复打印，已告知客户废墨垫为易耗件",
          mode="send_in", error="废墨垫寿命已到"),
    Issue("install", "printer", "新购打印机安装驱动",
          "财务室新到一台打印机，需要安装到 3 台电脑并设置共享。",
          "远程安装驱动并配置共享打印", "3 台电脑均可正常打印", mode="remote", priority="low"),
    # 复印机
    Issue("fault", "copier", "复印机显示错误代码 SC542",
          "开机预热后报 SC542，无法复印和打印，定影部分不加热。",
          "更换定影加热灯和热敏电阻", "开机预热正常，复印质量正常", mode="onsite", error="SC542"),
    Issue("fault", "copier", "复印机复印件有黑线",
          "复印出的每张纸中间都有一条竖向黑线，从电脑打印正常。",
          "清洁扫描玻璃和稿台导板", "复印件无黑线，客户确认", mode="onsite"),
    Issue("fault", "copier", "复印机纸盒 2 频繁卡纸",
          "从纸盒 2 进纸时经常卡纸，纸盒 1 正常。",
          "更换纸盒 2 分页器和进纸辊", "连续复印 100 张无卡纸", mode="onsite", error="卡纸 A1"),
    Issue("fault", "copier", "复印机扫描到邮箱失败",
          "扫描发送到邮箱时提示无法连接服务器，上周还能正常使用。",
          "远程重新配置 SMTP 服务器和端口（465，SSL）", "扫描件可正常发送到邮箱",
          mode="remote", error="无法连接服务器"),
    Issue("install", "copier", "复印机上门安装调试",
          "新购复印机已到货，需上门安装、连接网络并培训使用。",
          "上门安装调试，配置网络打印和扫描到文件夹", "设备投入使用，已培训 2 名行政人员",
          mode="onsite"),
    # 电脑
    Issue("fault", "pc", "电脑开机蓝屏",
          "开机进入桌面后几分钟就蓝屏重启，昨天安装过显卡驱动。",
          "修复系统文件并回退异常显卡驱动", "连续运行 2 小时未再蓝屏",
          mode="remote", error="CRITICAL_PROCESS_DIED"),
    Issue("fault", "pc", "电脑运行很慢",
          "开机要 5 分钟，打开 Excel 经常卡住无响应。",
          "清理开机启动项，更换机械硬盘为固态硬盘并迁移系统", "开机时间缩短到 20 秒",
          mode="onsite", priority="low"),
    Issue("fault", "pc", "电脑无法开机，电源灯不亮",
          "按电源键没有任何反应，电源灯不亮，昨晚打雷后出现。",
          "更换损坏的电源", "电脑正常开机，数据完好", mode="onsite"),
    Issue("fault", "pc", "屏幕闪烁有横纹",
          "屏幕不定时闪烁并出现横纹，外接显示器正常。",
          "更换屏线", "屏幕显示正常", mode="send_in"),
    Issue("fault", "pc", "电脑无法连接共享打印机",
          "重装系统后无法添加办公室的共享打印机。",
          "远程安装驱动并修复打印共享凭据", "可正常打印",
          mode="remote", priority="low", error="操作无法完成（错误 0x0000011b）"),
    # 服务器
    Issue("fault", "server", "服务器无法开机",
          "机房断电恢复后服务器无法开机，电源指示灯不亮，业务系统全部中断。",
          "更换故障电源模块，检查另一路电源线", "服务器正常启动，业务系统已恢复",
          mode="onsite", priority="urgent", error="BMC 无响应"),
    Issue("fault", "server", "服务器硬盘告警，RAID 降级",
          "管理口告警：RAID 阵列降级，3 号盘状态 Failed。",
          "更换 3 号硬盘并完成 RAID 重建", "阵列状态 Optimal，告警消除",
          mode="onsite", error="Physical Disk 3 Failed"),
    Issue("fault", "server", "服务器风扇噪音大",
          "机房服务器风扇声音明显变大，管理口显示风扇 4 转速异常。",
          "更换风扇模块 4", "风扇转速正常，噪音消失",
          mode="onsite", priority="low", error="FAN4 转速低"),
    Issue("fault", "server", "服务器无法远程登录",
          "系统更新后远程桌面连接超时，机房本地登录正常。",
          "修复防火墙策略和网卡绑定配置", "远程桌面恢复正常",
          mode="remote", error="远程桌面连接超时"),
    Issue("install", "server", "服务器上架安装及系统部署",
          "新采购服务器需上架、配置 RAID 并安装操作系统。",
          "完成上架、RAID5 配置和系统安装", "已移交客户信息中心", mode="onsite", priority="low"),
    # 交互智能平板
    Issue("fault", "board", "交互平板触控失灵",
          "教室平板触摸没有反应或点击位置偏移，影响正常上课。",
          "重新校准触摸框并更换触摸框排线", "触控灵敏，定位准确", mode="onsite"),
    Issue("fault", "board", "交互平板无法开机",
          "按电源键无反应，指示灯红色常亮。",
          "更换电源板", "设备正常开机使用", mode="onsite", error="指示灯红色常亮"),
    Issue("fault", "board", "交互平板投屏没有声音",
          "用传屏器投屏画面正常但没有声音。",
          "更新系统固件并调整默认音频输出", "投屏声音正常", mode="remote", priority="low"),
    Issue("fault", "board", "交互平板内置电脑无法启动",
          "切换到内置电脑通道显示无信号，偶尔提示找不到启动设备。",
          "重新插拔 OPS 模块并修复系统引导", "内置电脑正常启动",
          mode="onsite", error="No bootable device"),
    Issue("install", "board", "交互平板安装预约",
          "新购 86 寸交互平板需挂墙安装在 3 楼多媒体教室。",
          "上门挂墙安装并调试", "安装完成，客户验收合格", mode="onsite"),
    Issue("consult", "board", "咨询交互平板定时开关机设置",
          "老师询问如何设置平板每天 7 点开机、18 点关机。",
          "电话指导在设置中开启定时开关机", "客户已设置成功"),
    # 汽车
    Issue("fault", "car", "车辆仪表盘故障灯亮",
          "行驶中仪表盘故障灯常亮，提示请检查动力系统，车辆可以行驶。",
          "读取故障码，更换故障传感器并清除故障码", "路试 20 公里故障灯未再亮起",
          mode="send_in", error="动力系统故障灯（黄色）常亮"),
    Issue("fault", "car", "车辆无法充电",
          "插上家用充电桩后没有反应，仪表提示充电连接异常。",
          "更换车载充电机保险，检修充电口插座", "交流充电正常",
          mode="send_in", error="充电连接异常"),
    Issue("fault", "car", "车辆空调不制冷",
          "开空调出风口只有自然风，不制冷。",
          "补充冷媒并修复低压管路渗漏", "出风口温度 8℃，制冷正常", mode="send_in", priority="low"),
    Issue("fault", "car", "中控屏黑屏，倒车影像无法显示",
          "启动车辆后中控屏黑屏，挂倒挡无倒车影像。",
          "升级车机系统并更换屏幕排线", "中控屏和倒车影像正常", mode="send_in"),
    Issue("consult", "car", "预约车辆 1 万公里保养",
          "车辆即将到 1 万公里，询问保养项目、费用和可预约时间。",
          "介绍保养项目并预约周六上午到店", "客户已预约"),
    # 运动木地板
    Issue("fault", "floor", "地板起拱",
          "体育馆木地板中场区域起拱约 3 厘米，学生运动时存在安全隐患。",
          "切割伸缩缝释放应力，更换受潮龙骨并重铺局部地板", "地面平整，验收合格",
          mode="onsite", priority="urgent"),
    Issue("fault", "floor", "地板局部受潮变形",
          "雨季过后靠近门口的地板发黑、翘边。",
          "更换受潮地板并加装防潮层", "更换区域平整无色差", mode="onsite"),
    Issue("fault", "floor", "地板踩踏有异响",
          "篮球场东侧半场踩上去有咯吱声。",
          "加固松动龙骨并补打地板钉", "异响消除", mode="onsite", priority="low"),
    Issue("fault", "floor", "地板漆面磨损，场地线不清晰",
          "三分线附近漆面磨损严重，场地线看不清。",
          "打磨翻新并重新划线（有偿）", "漆面和场地线翻新完成", mode="paid", priority="low"),
    Issue("install", "floor", "运动木地板铺装验收",
          "新体育馆木地板铺装完成，预约上门验收并出具保修卡。",
          "上门检测平整度和防滑性能并出具保修卡", "验收合格", mode="onsite", priority="low"),
    # 不涉及设备
    Issue("account", None, "账号无法登录",
          "客户门户登录时提示密码错误，找回密码收不到短信验证码。",
          "核实身份后重置密码并更新预留手机号", "客户已正常登录", error="用户名或密码错误"),
    Issue("account", None, "账号被锁定",
          "连续输错密码后账号被锁定，急需登录查看维修报告。",
          "核实身份后解锁账号", "客户已登录", error="账号已锁定，请 30 分钟后再试"),
    Issue("account", None, "申请开通报修子账号",
          "希望给各部门开通报修子账号，方便直接在线报修。",
          "开通 3 个子账号并分配报修权限", "客户已收到账号信息", priority="low"),
    Issue("consult", None, "保修政策咨询",
          "设备购买两年半，询问是否还在保修期、过保后维修如何收费。",
          "说明保修期限和过保维修收费标准", "客户已了解"),
    Issue("consult", None, "发票开具咨询",
          "上个月的维修费用需要开具增值税专用发票，询问办理流程。",
          "说明开票所需信息并转财务部开具", "电子发票已发送至客户邮箱"),
    Issue("consult", None, "咨询延保服务价格",
          "询问设备延长保修一年和三年的价格及服务内容。",
          "发送延保方案和报价", "客户表示考虑后回复", priority="low"),
    Issue("complaint", None, "投诉上门工程师迟到",
          "预约上午 9 点上门，工程师 11 点才到，也没有提前电话通知，影响正常工作。",
          "核实情况后向客户致歉，赠送一次免费保养，对工程师通报批评", "客户接受处理结果"),
    Issue("complaint", None, "投诉维修后同一故障再次出现",
          "上周刚维修过，今天同样的问题又出现了。",
          "安排高级工程师复查并更换相关部件，延长该部件保修", "客户表示满意"),
    Issue("complaint", None, "投诉客服电话长时间无人接听",
          "中午连续打了 5 次客服电话都无人接听。",
          "致歉并说明午间排班已调整，登记回访", "客户接受", priority="low"),
    Issue("suggestion", None, "建议报修进度支持微信通知",
          "希望维修进度能通过微信推送，不用每次打电话问。",
          "已反馈产品部，纳入下季度需求", "已告知客户需求排期", priority="low"),
    Issue("suggestion", None, "建议增加周末上门服务",
          "学校周末才方便停机维修，建议提供周末上门服务。",
          "已提交运营部评估周末排班", "已答复客户", priority="low"),
    Issue("order", None, "退货进度查询",
          "上周申请退货的配件已经寄回，询问退款进度。",
          "核实仓库已签收，财务已于当日退款", "客户确认收到退款"),
    Issue("order", None, "订购耗材一周未到货",
          "订购的墨水和硒鼓一周了还没到，物流信息不更新。",
          "联系物流核实丢件，重新补发", "客户已签收补发耗材"),
    Issue("order", "copier", "订购复印机硒鼓",
          "需要订购 4 支原装硒鼓，要求开具专票。",
          "下单并安排发货，发票随货寄出", "客户已签收", priority="low"),
    Issue("order", "pc", "新购电脑键盘按键失灵，申请换货",
          "到货第二天键盘多个按键没有反应。",
          "核实为到货故障，办理换新", "新机已送达并验机正常", mode="mail_in"),
    Issue("new_customer", None, "新客户咨询设备采购和维保方案",
          "计划采购 20 台交互平板，咨询价格和三年维保方案。",
          "转销售经理对接并发送报价单", "客户已收到报价"),
    Issue("new_customer", None, "新客户建档：体育馆地板维保",
          "新建体育馆希望签订木地板年度维保合同。",
          "完成客户建档并转商务对接合同", "合同草案已发送", priority="low"),
]

TYPE_WEIGHTS = {"fault": 44, "consult": 11, "account": 8, "complaint": 7, "suggestion": 4,
                "order": 12, "install": 8, "new_customer": 6}
CHANNEL_WEIGHTS = {"phone": 34, "wechat": 20, "chat": 14, "app": 11, "email": 10, "walk_in": 11}
PRIORITY_WEIGHTS = {"urgent": 12, "normal": 66, "low": 22}
URGENT_TYPES = {"fault", "complaint"}  # an urgent consultation or suggestion would look odd
ONLINE = {"wechat", "app", "chat", "email"}  # channels that bring tickets at weekends and evenings
HOURS = {8: 2, 9: 10, 10: 12, 11: 9, 12: 2, 13: 5, 14: 9, 15: 9, 16: 8, 17: 6, 18: 3,
         19: 2, 20: 2, 21: 1}
TECHNICAL = {"fault", "install"}
DEPARTMENT_OF = {"fault": "tech", "install": "tech", "suggestion": "product", "order": "ops",
                 "new_customer": "ops"}

ENVIRONMENTS = {
    "printer": "办公室，USB 连接，Windows 10", "copier": "行政办公室，网络打印",
    "pc": "办公室局域网，Windows 11", "server": "客户机房，VMware ESXi 7",
    "board": "教室，安卓系统 + OPS 内置电脑", "car": "市区道路行驶",
    "floor": "室内体育馆，无地暖",
}

# The end states: final status and weight in the desk (120 tickets: new 5, pool 6, …).
FATES = [  # fate, weight; in the order small sets take them
    ("closed", 42), ("assigned", 12), ("hold", 10), ("resolved", 10), ("callback", 10),
    ("new", 5), ("pool", 6), ("overdue", 8), ("reopened", 4), ("claimed", 8),
    ("reopened_closed", 5),
]

HOLD_REASONS_TECH = ["等待配件到货", "等待厂家技术支持回复", "客户要求改约上门时间",
                     "等客户回电确认上门时间"]
HOLD_REASONS_OTHER = ["等客户回电", "等待客户提供购买凭证", "等待财务部核实"]
NOTES_TECH = [
    "已电话联系客户，确认故障现象与报修描述一致", "远程查看设备状态，初步判断为硬件故障",
    "已申请备件，备件单已提交仓库", "已与客户约定上门时间，客户要求下午 2 点后",
    "查询维修记录：该设备近 3 个月同类故障第 2 次", "已将故障照片和日志发给二线工程师分析",
]
NOTES_OTHER = [
    "已核实客户信息和订单记录", "已与相关部门确认处理方案", "已向客户说明处理流程，客户表示理解",
    "已提交财务部核实", "已发送短信告知客户处理进度",
]
CHASE_NOTES = ["客户来电询问进度，情绪较急", "客户微信催促尽快处理", "客户表示再不处理将投诉",
               "客户询问工程师何时上门"]
ESCALATE_REASONS = ["一线远程无法解决，需二线工程师支持", "疑难故障，需技术中心分析",
                    "同类故障反复出现，申请专家介入"]
CONFIRM_HOW = ["电话回访确认", "客户微信确认", "客户在 APP 点击确认", "短信回复确认"]
REOPEN_REASONS_TECH = ["客户反馈故障再次出现", "同样的问题又出现了，客户要求重新处理",
                       "客户表示问题未彻底解决"]
REOPEN_REASONS_OTHER = ["客户表示问题未彻底解决", "客户对答复不满意，要求重新处理"]


def default_count(customers):
    return min(DEFAULT_TICKETS, TICKETS_PER_CUSTOMER * customers)


def _call(service, now, **kwargs):
    """Call a ticket service as if at ``now`` (the demo's history is backdated)."""
    return service(**kwargs, now=now)


def _queue(*, actor, ticket, now):
    return services.ticket_queue(actor=actor, ticket=ticket, now=now)


def _weighted(rng, weights):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _daytime(rng, moment):
    """Move a moment that falls at night to the next morning's working hours."""
    local = moment.astimezone(SH)
    if local.hour < 9:
        return local.replace(hour=9, minute=rng.randrange(0, 40))
    if local.hour >= 19:
        local += datetime.timedelta(days=1)
        return local.replace(hour=9 + rng.randrange(0, 2), minute=rng.randrange(0, 60))
    return local


class Clock:
    """The moments of one ticket's life: always forward, always before the demo today."""

    def __init__(self, rng, start):
        self.rng, self.now = rng, start

    def after(self, minutes=0.0, hours=0.0, days=0.0, day_only=True):
        step = datetime.timedelta(minutes=minutes, hours=hours, days=days)
        moment = self.now + step
        if day_only:
            moment = _daytime(self.rng, moment)
        if moment >= DEMO_NOW - datetime.timedelta(minutes=1):
            moment = self.now + (DEMO_NOW - self.now) / 3
        self.now = moment
        return moment


def _when(moment):
    local = moment.astimezone(SH)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _plan_fates(rng, count):
    if count <= len(FATES):
        fates = [fate for fate, _w in FATES[:count]]
    else:
        total = sum(w for _f, w in FATES)
        counts = {fate: max(1, round(w * count / total)) for fate, w in FATES}
        while sum(counts.values()) > count:
            counts[max((c, f) for f, c in counts.items())[1]] -= 1
        counts["closed"] += count - sum(counts.values())
        fates = [fate for fate, n in counts.items() for _ in range(n)]
    rng.shuffle(fates)
    return fates


def _spread(rng, weights, count):
    """``count`` draws by weight, every key at least once when count allows (then shuffled)."""
    keys = list(weights)
    rng.shuffle(keys)
    drawn = keys[:count] + [_weighted(rng, weights) for _ in range(count - len(keys))]
    rng.shuffle(drawn)
    return drawn


class Desk:
    def __init__(self, rng, customers, staff, departments, families):
        self.rng = rng
        self.staff = staff
        self.departments = departments
        self.types = {t.code: t for t in TicketType.objects.all()}
        self.channels = {c.code: c for c in Channel.objects.all()}
        self.priorities = {p.code: p for p in Priority.objects.all()}
        self.modes = {m.code: m for m in ServiceMode.objects.all()}
        self.customers = customers
        self.by_family = {}
        for customer in customers:
            for asset in customer.assets.all():
                self.by_family.setdefault(families.get(asset.product_model), []).append(
                    (customer, asset))

    # -- choosing ------------------------------------------------------------------------------

    def issue(self, type_code):
        candidates = [i for i in ISSUES if i.type == type_code
                      and (i.family is None or i.family in self.by_family)]
        if not candidates:
            candidates = [i for i in ISSUES if i.type == "fault" and i.family in self.by_family]
        return self.rng.choice(candidates)

    def customer_and_asset(self, issue):
        if issue.family:
            return self.rng.choice(self.by_family[issue.family])
        customer = self.rng.choice(self.customers)
        return customer, None

    def owner(self, issue, customer):
        s, rng = self.staff, self.rng
        if issue.type == "complaint":
            return s["supervisor"]
        if issue.type in TECHNICAL:
            if issue.family == "server":
                return s["engineer2"]
            if issue.mode != "remote" or rng.random() < 0.6:
                region = customer.region.code if customer.region_id else ""
                return s["engineer2"] if region in ("south", "west") else s["engineer"]
            return s["agent2"]
        return rng.choice([s["agent"], s["agent2"]])

    def priority(self, issue, drawn):
        if issue.priority and self.rng.random() < 0.8:
            return issue.priority
        if drawn == "urgent" and issue.type not in URGENT_TYPES:
            return "normal"
        return drawn

    def intake_moment(self, ago, channel):
        """A moment ``ago`` (low, high) days before the demo today, at a plausible hour:
        mostly working days and office hours; online channels also at weekends and evenings."""
        rng = self.rng
        for _ in range(20):
            day = (DEMO_NOW - datetime.timedelta(days=rng.uniform(*ago))).date()
            if workcalendar.is_workday(day) or rng.random() < (0.5 if channel in ONLINE else 0.15):
                break
        while True:
            hour = rng.choices(list(HOURS), weights=list(HOURS.values()))[0]
            if hour < 19 or channel in ONLINE:
                break
        moment = datetime.datetime.combine(
            day, datetime.time(hour, rng.randrange(60), rng.randrange(60)), SH)
        return min(moment, DEMO_NOW - datetime.timedelta(minutes=rng.uniform(10, 90)))

    def created(self, fate, issue, priority, channel):
        """When the ticket came in: open tickets recent enough for their clock, unless overdue."""
        rng = self.rng
        minutes = datetime.timedelta(minutes=1)
        short_clock = priority == "urgent" or (priority == "normal" and issue.type not in TECHNICAL)
        if fate in ("new", "pool", "assigned", "claimed"):
            if fate == "new" or short_clock:
                return DEMO_NOW - rng.uniform(8, 95) * minutes
            ago = (0.05, 2.9 if priority == "normal" else 6)
        else:
            ago = {
                "overdue": (3, 12) if priority != "low" else (10, 16), "hold": (1, 10),
                "resolved": (0.3, 3.5), "callback": (2, 8), "closed": (3, SPAN_DAYS),
                "reopened": (5, 16), "reopened_closed": (12, SPAN_DAYS),
            }[fate]
        return self.intake_moment(ago, channel)

    def work_hours(self, issue, priority):
        """How long the fix takes (hours)."""
        rng = self.rng
        if priority == "urgent":
            return rng.uniform(1, 4.5)
        if priority == "low":
            return rng.uniform(20, 120)
        if issue.type in TECHNICAL:
            return rng.uniform(2, 30)
        return rng.uniform(0.2, 3)

    # -- playing -------------------------------------------------------------------------------

    def play(self, fate, issue, type_code, channel, priority, customer, asset, created):
        rng, s = self.rng, self.staff
        technical = type_code in TECHNICAL
        taker = rng.choice([s["agent"], s["agent2"]])
        owner = self.owner(issue, customer)
        clock = Clock(rng, created)
        contacts = list(customer.contacts.all())
        expects = None
        if rng.random() < 0.25:
            day = created.astimezone(SH) + datetime.timedelta(days=rng.choice([1, 2, 3]))
            expects = day.replace(hour=17, minute=0, second=0, microsecond=0)
        ticket = services.ticket_create(
            actor=taker, customer=customer, contact=contacts[0] if contacts else None, asset=asset,
            channel=self.channels[channel], ticket_type=self.types[type_code],
            priority=self.priorities[priority], subject=issue.subject,
            description=issue.description,
            department=self.departments.get(DEPARTMENT_OF.get(type_code, "cs")),
            service_mode=self.modes.get(issue.mode),
            occurred_at=(created - datetime.timedelta(hours=rng.uniform(0.5, 30))
                         if technical else None),
            environment=ENVIRONMENTS.get(issue.family, "") if asset else "",
            error_shown=issue.error, customer_expects_at=expects, now=created,
        )
        if fate == "new":
            return ticket
        if fate in ("pool", "claimed"):
            ticket = _queue(actor=taker, ticket=ticket, now=clock.after(minutes=rng.uniform(1, 5)))
            if fate == "pool":
                return ticket
            ticket = _call(services.ticket_claim, clock.after(minutes=rng.uniform(3, 60)),
                           actor=owner, ticket=ticket)
        else:
            late = fate == "overdue" and rng.random() < 0.5
            boss = s["supervisor"] if type_code == "complaint" else s["dispatcher"]
            delay = rng.uniform(60, 200) if late else rng.uniform(3, 40)
            ticket = _call(services.ticket_assign, clock.after(minutes=delay),
                           actor=boss, ticket=ticket, owner=owner)
        if fate != "assigned" or rng.random() < 0.7:
            self.acknowledge(clock, ticket, owner, issue)
        if fate in ("assigned", "claimed"):
            if rng.random() < 0.4:
                self.note(clock, ticket, owner, technical, minutes=rng.uniform(10, 60))
            return ticket
        for _ in range(rng.choice([0, 1, 1, 2])):
            self.note(clock, ticket, owner, technical, hours=rng.uniform(0.3, 3))
        if technical and (fate == "overdue" and rng.random() < 0.6 or rng.random() < 0.08):
            self.escalate(clock, ticket, owner, issue, priority)
        if fate == "overdue":
            for _ in range(rng.choice([1, 1, 2, 3])):
                _call(services.ticket_chase, clock.after(hours=rng.uniform(4, 30)),
                      actor=taker, ticket=ticket, note=rng.choice(CHASE_NOTES))
            if rng.random() < 0.5:
                self.note(clock, ticket, owner, technical, hours=rng.uniform(1, 6))
            return ticket
        if fate == "hold" or (fate in ("closed", "callback") and rng.random() < 0.15):
            ticket = self.hold(clock, ticket, owner, technical)
            if fate == "hold":
                if rng.random() < 0.3:
                    _call(services.ticket_chase, clock.after(hours=rng.uniform(4, 48)),
                          actor=taker, ticket=ticket, note=rng.choice(CHASE_NOTES))
                return ticket
            ticket = _call(services.ticket_resume, clock.after(hours=rng.uniform(4, 48)),
                           actor=owner, ticket=ticket)
        ticket = self.resolve(clock, ticket, owner, issue, priority)
        if fate == "resolved":
            return ticket
        if fate in ("reopened", "reopened_closed"):
            if rng.random() < 0.5:
                ticket = self.confirm(clock, ticket, taker)
            reason = rng.choice(REOPEN_REASONS_TECH if technical else REOPEN_REASONS_OTHER)
            ticket = _call(services.ticket_reopen, clock.after(days=rng.uniform(0.5, 3)),
                           actor=taker, ticket=ticket, reason=reason)
            self.acknowledge(clock, ticket, owner, issue, again=True)
            if fate == "reopened":
                return ticket
            ticket = self.resolve(clock, ticket, owner, issue, priority)
        ticket = self.confirm(clock, ticket, taker)
        if fate == "callback":
            return ticket
        return _call(services.ticket_close, clock.after(hours=rng.uniform(1, 30)),
                     actor=taker, ticket=ticket)

    def acknowledge(self, clock, ticket, owner, issue, again=False):
        now = clock.after(minutes=self.rng.uniform(2, 25))
        due = ticket.resolve_due_at
        name = owner.staff.display_name
        if again:
            text = f"您好，已重新安排{name}处理，给您带来不便深表歉意，预计 {_when(due)} 前完成。"
        else:
            text = {
                "onsite": f"您好，已安排工程师{name}上门处理，预计 {_when(due)} 前完成。",
                "remote": f"您好，工程师{name}将远程协助处理，请保持电话畅通，"
                          f"预计 {_when(due)} 前完成。",
                "send_in": f"您好，请将设备送至就近服务网点，{name}负责跟进，"
                           f"预计 {_when(due)} 前修复。",
                "mail_in": f"您好，请将设备寄回服务中心，收到后由{name}处理，"
                           f"预计 {_when(due)} 前完成。",
            }.get(issue.mode, f"您好，您的问题已由{name}跟进，预计 {_when(due)} 前给您答复。")
        _call(services.ticket_add_note, now, actor=owner, ticket=ticket, text=text,
              customer_visible=True, expected_completion_at=due)

    def note(self, clock, ticket, owner, technical, **step):
        text = self.rng.choice(NOTES_TECH if technical else NOTES_OTHER)
        _call(services.ticket_add_note, clock.after(**step), actor=owner, ticket=ticket, text=text)

    def escalate(self, clock, ticket, owner, issue, priority):
        major = issue.family == "server" and priority == "urgent"
        reason = "核心业务中断，按重大故障升级" if major else self.rng.choice(ESCALATE_REASONS)
        ticket = _call(services.ticket_escalate, clock.after(hours=self.rng.uniform(0.5, 4)),
                       actor=owner, ticket=ticket, reason=reason, major=major)
        if major or self.rng.random() < 0.3:
            _call(services.ticket_escalate, clock.after(hours=self.rng.uniform(1, 6)),
                  actor=self.staff["engineer2"], ticket=ticket,
                  reason="二线排查后仍未定位，提交技术中心", major=major)

    def hold(self, clock, ticket, owner, technical):
        reason = self.rng.choice(HOLD_REASONS_TECH if technical else HOLD_REASONS_OTHER)
        ticket = _call(services.ticket_hold, clock.after(hours=self.rng.uniform(0.5, 8)),
                       actor=owner, ticket=ticket, reason=reason)
        if reason.startswith("等待配件") or self.rng.random() < 0.3:
            days = datetime.timedelta(days=self.rng.choice([2, 3, 5]))
            expected = _daytime(self.rng, clock.now + days)
            _call(services.ticket_add_note, clock.after(minutes=self.rng.uniform(5, 30)),
                  actor=owner, ticket=ticket, customer_visible=True,
                  expected_completion_at=expected,
                  text=f"您好，{reason}，预计 {_when(expected)} 前完成处理，届时再与您联系。")
        return ticket

    def resolve(self, clock, ticket, owner, issue, priority):
        hours = self.work_hours(issue, priority)
        moment = clock.after(hours=hours, day_only=priority != "urgent")
        # Complaints settled with a goodwill gesture record it (B9: compensation given).
        gesture = {"compensation_kind": "service"} if issue.type == "complaint" else {}
        return _call(services.ticket_resolve, moment, actor=owner, ticket=ticket,
                     solution=issue.solution, result=issue.result, **gesture)

    def confirm(self, clock, ticket, taker):
        return _call(services.ticket_confirm, clock.after(hours=self.rng.uniform(1, 36)),
                     actor=taker, ticket=ticket, how=self.rng.choice(CONFIRM_HOW))


def load_tickets(*, rng, customers, staff, departments, families, count, out=None):
    """Create ``count`` demo tickets; returns how many were created."""
    if count <= 0 or not customers:
        return 0
    desk = Desk(rng, customers, staff, departments, families)
    before = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    fates = _plan_fates(rng, count)
    types = _spread(rng, TYPE_WEIGHTS, count)
    channels = _spread(rng, CHANNEL_WEIGHTS, count)
    priorities = _spread(rng, PRIORITY_WEIGHTS, count)
    plans = []
    for fate, type_code, channel, drawn_priority in zip(fates, types, channels, priorities,
                                                        strict=True):
        issue = desk.issue(type_code)
        priority = desk.priority(issue, drawn_priority)
        customer, asset = desk.customer_and_asset(issue)
        created = desk.created(fate, issue, priority, channel)
        plans.append((created, fate, issue, issue.type, channel, priority, customer, asset))
    # Intake in time order, so ticket numbers (CS + month + sequence) follow the calendar.
    plans.sort(key=lambda plan: plan[0])
    for i, (created, *plan) in enumerate(plans):
        desk.play(*plan, created=created)
        if out and (i + 1) % 40 == 0:
            out(f"  {i + 1}/{count} 工单")
    _hand_off_a_call(staff, after_pk=before)
    return len(plans)


def _hand_off_a_call(staff, after_pk):
    """热线转交 (B6): the newest call in the pool, handed off to the hotline engineers a few
    minutes before the demo today, so the 15-minute clock is visible on its page."""
    moment = DEMO_NOW - datetime.timedelta(minutes=6)
    ticket = (Ticket.objects.filter(pk__gt=after_pk, status__in=["new", "unassigned"],
                                    owner__isnull=True, created_at__lt=moment)
              .order_by("-created_at", "-pk").first())
    if ticket is not None:
        services.ticket_handoff(actor=staff["agent"], ticket=ticket, reason="热线工程师均在通话中",
                                now=moment)
