"""Load the demo data of the metering suite into a database (idempotent).

Two campuses with their buildings, 150 accounts of the three categories,
about 290 electricity and water meters and 12 months of readings,
including a rollover, a meter change and a few anomalies waiting for
review; tariffs, the bills of the last three months, payments (one
transfer waiting for finance), an outage notice, the working calendars
with the holidays, the demo resident's appointment and the faults field
staff reported from site.  Run by `make demo`; a database that already
has the demo campuses gets the parts added since and nothing twice.

    python scripts/load_demo.py DATABASE
"""
import datetime as dt
import random
import sys
from decimal import Decimal

from tqdm import tqdm
from trytond.transaction import Transaction

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鑫博文斌宇浩凯健俊帆帅旭宁龙林欣雪梅琳晶"
CAMPUSES = [
    ('E', "东校区", "东校区后勤楼 101 室", "周一至周五 8:00-12:00, 14:30-17:30",
        "李老师", "0571-8820 1101"),
    ('W', "西校区", "西校区综合服务楼 203 室", "周一至周五 8:30-12:00, 14:00-17:00",
        "王老师", "0571-8820 2203"),
    ]
# Departments: code, name, parent's code
DEPARTMENTS = [
    ('C', "水电保障中心", None),
    ('E', "东校区分中心", 'C'),
    ('W', "西校区分中心", 'C'),
    ('E-WX', "外线班", 'E'),
    ('FIN', "财务", 'C'),
    ('CS', "客服", 'C'),
    ]
# Posts: department's code, name, groups, campuses' codes, demo holders
POSTS = [
    ('E-WX', "抄表员", ['group_field_staff'], ['E'], ['field']),
    ('E-WX', "班长", ['group_field_staff'], ['E', 'W'], []),
    ('CS', "收费员", ['group_service_desk'], ['E', 'W'], ['desk']),
    ('FIN', "审核员", ['group_finance'], ['E', 'W'], ['finance']),
    ('C', "主任", ['group_meter_admin'], ['E', 'W'], ['manager']),
    ]


def months_back(today, count):
    "Return the last day-ish (the 25th) of each of the count months before"
    year, month = today.year, today.month
    dates = []
    for _ in range(count):
        month -= 1
        if not month:
            year, month = year - 1, 12
        dates.append(dt.datetime(year, month, 25, 9, 30))
    return list(reversed(dates))


def load(pool, rng):
    Campus = pool.get('meter.campus')
    Location = pool.get('meter.location')
    Account = pool.get('meter.account')
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    Configuration = pool.get('meter.configuration')

    # The history is typed from the old paper cards: no photos.
    Configuration.write([Configuration(1)], {'photo_required_sources': []})
    campuses = Campus.create([{
                'code': c, 'name': n, 'address': a, 'hours': h,
                'contact': p, 'phone': t} for c, n, a, h, p, t in CAMPUSES])
    buildings = {}
    for campus in campuses:
        family, dorm, office = Location.create([
                {'name': "家属区", 'kind': 'family_area', 'campus': campus},
                {'name': "学生宿舍区", 'kind': 'area', 'campus': campus},
                {'name': "办公区", 'kind': 'area', 'campus': campus},
                ])
        buildings[campus, 'resident'] = Location.create([{
                    'name': f"{campus.name[0]}{i}幢", 'kind': 'building',
                    'campus': campus, 'parent': family}
                for i in range(1, 6)])
        buildings[campus, 'dormitory'] = Location.create([{
                    'name': f"{campus.name[0]}区{i}号宿舍楼",
                    'kind': 'dormitory', 'campus': campus, 'parent': dorm}
                for i in range(1, 4)])
        buildings[campus, 'unit'] = Location.create([{
                    'name': name, 'kind': 'unit_building', 'campus': campus,
                    'parent': office}
                for name in ["行政楼", "图书馆", "实验楼"]])

    def person():
        return rng.choice(SURNAMES) + ''.join(
            rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))

    units = ["计算机学院", "机械学院", "图书馆", "校医院", "后勤集团",
        "外国语学院", "化学学院", "体育部", "档案馆", "保卫处"]
    accounts = []
    for i in range(150):
        campus = campuses[i % 2]
        if i < 100:
            category, name = 'resident', person()
        elif i < 130:
            category, name = 'dormitory', f"学生宿舍 {i - 99:02d} 区"
        else:
            category, name = 'unit', units[(i - 130) % 10] + (
                "" if i < 140 else "(分部)")
        location = rng.choice(buildings[campus, category])
        accounts.append({
                'number': f'{campus.code}{i + 1:05d}',
                'name': name,
                'category': category,
                'billing_mode': 'prepaid' if i % 10 == 3 else 'postpaid',
                'campus': campus,
                'location': location,
                'phone': f'13{rng.randrange(100000000, 999999999)}',
                })
    accounts = Account.create(accounts)

    meters = []
    for account in accounts:
        kinds = {'resident': ['electricity', 'water'],
            'dormitory': ['electricity'],
            'unit': ['electricity', 'electricity', 'water']}[account.category]
        for n, kind in enumerate(kinds):
            electricity = kind == 'electricity'
            meters.append({
                    'number': f'{"D" if electricity else "S"}'
                    f'{account.number}{n}',
                    'kind': kind,
                    'account': account,
                    'campus': account.campus,
                    'location': account.location,
                    'place': f"{account.location.name} 楼道表箱",
                    'digits': 6 if electricity else 5,
                    'decimals': 1 if electricity else 0,
                    'multiplier': Decimal(
                        20 if account.category == 'unit' and electricity
                        and n == 0 else 1),
                    'protocol': 'dlt645_2007' if electricity else 'cjt188_2004',
                    'reading_method': rng.choice(
                        ['manual', 'self', 'handheld', 'collector']),
                    'comm_address': f'{rng.randrange(10 ** 11):012d}',
                    'handheld_id': f'H{rng.randrange(10 ** 7):07d}',
                    'install_date': dt.date.today() - dt.timedelta(days=800),
                    'initial_value': Decimal(rng.randrange(0, 3000)),
                    'brand': "正泰" if electricity else "宁水",
                    'meter_model': "DDSU666" if electricity else "LXS-20E",
                    'latitude': Decimal('30.2650') + Decimal(
                        rng.randrange(0, 200)) / 10000,
                    'longitude': Decimal('120.1200') + Decimal(
                        rng.randrange(0, 200)) / 10000,
                    })
    # One water meter close to its 5-digit wrap point, for the rollover.
    meters[1]['initial_value'] = Decimal(99100)
    meters = Meter.create(meters)

    dates = months_back(dt.date.today(), 12)
    values = {m: m.initial_value for m in meters}
    # Each meter has its own usual monthly use, varying by ±30 %.
    usual = {m: rng.randrange(120, 300) if m.kind == 'electricity'
        else rng.randrange(6, 20) for m in meters}
    size = {m: Decimal(10) ** m.digits for m in meters}
    for month, taken_at in enumerate(tqdm(dates, desc="readings", unit="month")):
        batch = []
        for meter in meters:
            use = Decimal(usual[meter] * rng.uniform(0.7, 1.3))
            if meter.kind == 'electricity':
                use = (use / meter.multiplier).quantize(Decimal('0.1'))
            else:
                use = use.quantize(Decimal(1))
            if meter == meters[1]:
                use = Decimal(150)
            values[meter] = (values[meter] + use) % size[meter]
            batch.append({
                    'meter': meter,
                    'taken_at': taken_at + dt.timedelta(
                        minutes=rng.randrange(0, 480)),
                    'value': values[meter],
                    'source': rng.choice(['field', 'self', 'handheld']),
                    })
        Reading.create(batch)

    # Anomalies waiting for review: a value lower than the last one, a
    # use far above the usual and a second reading on the same day.
    last = dates[-1] + dt.timedelta(days=3)
    Reading.create([
            {'meter': meters[2], 'taken_at': last,
                'value': values[meters[2]] - Decimal(50), 'source': 'self'},
            {'meter': meters[4], 'taken_at': last,
                'value': values[meters[4]] + Decimal(5000), 'source': 'field'},
            {'meter': meters[6], 'taken_at': dates[-1] + dt.timedelta(hours=9),
                'value': values[meters[6]] + Decimal(1), 'source': 'self'},
            ])

    # A meter change: the resident's electricity meter 10 was replaced.
    Change = pool.get('meter.change.wizard', type='wizard')
    session_id, _, _ = Change.create()
    old = meters[10]
    with Transaction().set_context(active_model='meter.meter',
            active_id=old.id, active_ids=[old.id]):
        change = Change(session_id)
        change.start.changed_at = last
        change.start.final_value = values[old] + Decimal(12)
        change.start.new_number = f'{old.number}R'
        change.start.new_digits = old.digits
        change.start.new_multiplier = old.multiplier
        change.start.initial_value = Decimal(0)
        change.start.reason = "表计烧坏, 更换新表"
        change.start.photo = None
        change.start.new_photo = None
        change.start.new_comm_address = None
        change.start.new_handheld_id = None
        change.transition_change()
    Change.delete(session_id)
    Configuration.write([Configuration(1)], {
            'photo_required_sources': ['self', 'field']})
    return campuses


def tier(upper, price):
    return {'upper': Decimal(upper) if upper else None,
        'unit_price': Decimal(price)}


def set_up_tariffs(pool, start):
    "The tariffs of the demo: tiered electricity for residents"
    Tariff = pool.get('meter.tariff')
    tariffs = []
    for category, name in [
            ('resident', "居民"), ('unit', "单位"), ('dormitory', "宿舍")]:
        if category == 'resident':
            energy = {'code': 'energy', 'name': "电费", 'pricing': 'tiered',
                'tiers': [('create', [tier(200, '0.5380'),
                            tier(400, '0.5880'), tier(None, '0.8380')])]}
        else:
            energy = {'code': 'energy', 'name': "电费", 'pricing': 'flat',
                'unit_price': Decimal('0.8600')}
        tariffs.append({'name': f"{name}电价", 'category': category,
                'kind': 'electricity', 'tier_basis': 'month',
                'versions': [('create', [{'start_date': start,
                                'components': [('create', [energy])]}])]})
        tariffs.append({'name': f"{name}水价", 'category': category,
                'kind': 'water',
                'versions': [('create', [{'start_date': start,
                                'components': [('create', [
                                            {'code': 'water', 'name': "水费",
                                                'pricing': 'flat',
                                                'unit_price': Decimal('2.90')},
                                            {'code': 'sewage',
                                                'name': "污水处理费",
                                                'pricing': 'flat',
                                                'unit_price': Decimal('0.95')},
                                            ])]}])]})
    Tariff.create(tariffs)


def set_up_billing(pool, campuses, rng):
    """Bill the last three months, take payments at both campuses and
    leave a bank transfer for finance to review"""
    Period = pool.get('meter.billing.period')
    Run = pool.get('meter.billing.run')
    Account = pool.get('meter.account')
    Bill = pool.get('meter.bill')
    Payment = pool.get('meter.payment')
    today = dt.date.today()
    first = today.replace(day=1)
    starts = []
    for _ in range(3):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        starts.insert(0, first)
    set_up_tariffs(pool, starts[0].replace(year=starts[0].year - 1))
    # Prepaid accounts start with a top-up taken at their campus
    prepaid = Account.search([('billing_mode', '=', 'prepaid')])
    topups = Payment.create([{
                'account': a.id, 'campus': a.campus.id, 'method': 'cash',
                'date': starts[0], 'amount': Decimal(300),
                'payer': a.name} for a in prepaid])
    Payment.post(topups)
    for start in starts:
        end = (start + dt.timedelta(days=31)).replace(day=1)
        period, = Period.create([{
                    'name': start.strftime('%Y-%m'),
                    'start_date': start,
                    'end_date': end - dt.timedelta(days=1),
                    'due_date': end + dt.timedelta(days=14),
                    }])
        run, = Run.create([{
                    'period': period.id,
                    'campuses': [('add', [c.id for c in campuses])],
                    }])
        Run.process([run])
        Run.post([run])
    # Most postpaid accounts paid the first two months, some in cash at
    # the other campus's office
    payments = []
    for account in Account.search([('billing_mode', '=', 'postpaid')]):
        if account.number == 'E00001' or rng.random() < 0.2:
            continue
        bills = Bill.search([('account', '=', account.id),
                ('state', '=', 'posted')], order=[('id', 'ASC')])[:2]
        amount = sum((b.amount for b in bills), Decimal(0))
        if amount <= 0:
            continue
        method = rng.choice(['cash', 'cash', 'cheque'])
        payments.append({
                'account': account.id,
                'campus': rng.choice(campuses).id,
                'method': method, 'amount': amount,
                'date': starts[-1] + dt.timedelta(days=rng.randint(5, 20)),
                'payer': account.name,
                'cheque_number': (f'{rng.randint(10**7, 10**8 - 1)}'
                    if method == 'cheque' else None),
                'cheque_bank': "中国工商银行" if method == 'cheque' else None,
                })
    Payment.post(Payment.create(payments))
    # The demo resident paid by bank transfer: finance has to review it
    account, = Account.search([('number', '=', 'E00001')])
    bill, = Bill.search([('account', '=', account.id),
            ('state', '=', 'posted')], order=[('id', 'ASC')], limit=1)
    transfer, = Payment.create([{
                'account': account.id, 'campus': account.campus.id,
                'method': 'transfer', 'amount': bill.amount,
                'transfer_reference': 'ICBC20261120001',
                'date': today, 'payer': account.name}])
    Payment.post([transfer])


def set_up_payee(pool):
    """The centre's payee and bank account, printed on the payment notices
    and shown on the residents' pay page; tell if they were set"""
    Configuration = pool.get('meter.billing.configuration')
    configuration = Configuration(1)
    if configuration.payee:
        return False
    Configuration.write([configuration], {
            'issuer': "水电保障中心",
            'payee': "某某大学水电保障中心",
            'bank_name': "中国工商银行杭州西湖支行",
            'bank_account': "1202 0210 0910 0123 456",
            })
    return True


def set_up_integration(pool):
    """数据管理: the SMS settings with the log provider and a test number
    (its 测试连接 writes the code to the server's log), and the billing
    system's layout of the bills (its headers); tell if they were set"""
    Sms = pool.get('meter.sms.configuration')
    Exchange = pool.get('meter.billing.exchange')
    sms = Sms(1)
    if sms.test_phone:
        return False
    Sms.write([sms], {
            'provider': 'log',
            'sign_name': "水电保障中心",
            'template_verification': 'SMS_000001',
            'test_phone': '13800138000',
            })
    Exchange.write([Exchange(1)], {'columns': [('create', [
                        {'file': 'bills', 'column': column, 'header': header,
                            'sequence': sequence}
                        for sequence, (column, header) in enumerate([
                                ('account', "用户编号"), ('meter', "表号"),
                                ('month', "计费月份"), ('usage', "本期用量"),
                                ('amount', "应收金额")], 1)])]})
    return True


def set_up_labels(pool):
    """The labels' settings: the centre's name, the public base URL of the
    demo server (a phone on the same network would need the machine's own
    address), the 60 × 40 mm format by default, a TSC printer on
    127.0.0.1:9100 and a first print of a building; tell if they were
    set"""
    Printer = pool.get('meter.label.printer')
    Configuration = pool.get('meter.label.configuration')
    Format = pool.get('meter.label.format')
    Print = pool.get('meter.label.print')
    Meter = pool.get('meter.meter')
    ModelData = pool.get('ir.model.data')
    with Transaction().set_context(active_test=False):
        if Printer.search([]):
            return False
    format_ = Format(ModelData.get_id('meter_field', 'label_format_60x40'))
    Configuration.write([Configuration(1)], {
            'title': "某某大学水电保障中心",
            'public_url': 'http://127.0.0.1:8000',
            'default_format': format_.id,
            })
    Printer.create([{
                'name': "东校区库房标签打印机", 'language': 'tspl',
                'host': '127.0.0.1', 'port': 9100, 'format': format_.id,
                'note': "演示用：指向本机 127.0.0.1:9100。请改为标签打印机"
                "（如 TSC TTP-244 Pro、斑马 ZD421）在局域网中的 IP 地址；"
                "没有打印机时，发送会提示无法连接，可改为下载文件。",
                }])
    meter = Meter.search([('state', '=', 'active'),
            ('location', '!=', None)], order=[('number', 'ASC')], limit=1)
    if meter:
        meters = Meter.search([('location', '=', meter[0].location.id),
                ('state', '=', 'active')])
        Print.log(meters, format_, 'pdf')
    return True


def set_up_devices(pool, campuses, rng):
    """A handheld format with an imported export (one row refused), an
    energy platform and a collector of the east campus polled once over
    the meter simulator; tell if they were created"""
    from trytond.modules.meter_devices.bus.simulator import (
        DLT645Meter, Simulator)
    Format = pool.get('meter.import.format')
    Job = pool.get('meter.import.job')
    Platform = pool.get('meter.platform')
    Collector = pool.get('meter.collector')
    Meter = pool.get('meter.meter')
    if Format.search([]):
        return False
    handheld, platform_format = Format.create([{
                'name': "手持抄表器 HT-200 (CSV)", 'source': 'handheld',
                'file_type': 'csv', 'identifier_column': "表号",
                'value_column': "读数", 'date_column': "抄表时间",
                'date_format': '%Y-%m-%d %H:%M',
                }, {
                'name': "智慧能源平台 (JSON)", 'source': 'platform',
                'file_type': 'json', 'identifier_column': 'meter_id',
                'value_column': 'value', 'date_column': 'time',
                'records_key': 'data.readings',
                }])
    Platform.create([{
                'name': "西校区智慧能源平台",
                'url': 'http://127.0.0.1:8765/api/readings',
                'format': platform_format.id,
                }])

    east = campuses[0]
    now = dt.datetime.now().replace(second=0, microsecond=0)
    meters = Meter.search([
            ('campus', '=', east.id), ('reading_method', '=', 'handheld'),
            ('kind', '=', 'water'), ('state', '=', 'active')],
        order=[('number', 'ASC')], limit=8)
    rows = ["表号,读数,抄表时间"]
    for meter in meters:
        value = (meter.last_value or meter.initial_value) + rng.randrange(5, 15)
        rows.append(f"{meter.handheld_id},{value},"
            f"{(now - dt.timedelta(hours=2)):%Y-%m-%d %H:%M}")
    rows.append(f"H9999999,123,{now:%Y-%m-%d %H:%M}")
    job = Job(format=handheld, file='\n'.join(rows).encode('utf-8'),
        filename='HT200-东校区.csv')
    job.save()
    job.import_file()
    job.save()

    meters = Meter.search([
            ('campus', '=', east.id), ('reading_method', '=', 'collector'),
            ('kind', '=', 'electricity'), ('state', '=', 'active')],
        order=[('number', 'ASC')], limit=6)
    # The last meter of the bus does not answer: its failure is recorded.
    simulator = Simulator([
            DLT645Meter(meter.comm_address, values={
                    0x00010000: (meter.last_value or meter.initial_value)
                    + rng.randrange(5, 30)})
            for meter in meters[:-1]])
    host, port = simulator.start_tcp('127.0.0.1', 0)
    try:
        collector, = Collector.create([{
                    'code': 'E-C01', 'name': "东校区家属区 1 号采集器",
                    'campus': east.id, 'port': f'socket://{host}:{port}',
                    'timeout': 1, 'retries': 0,
                    'meters': [('add', [m.id for m in meters])],
                    }])
        collector.poll_meters()
    finally:
        simulator.stop()
    return True


def set_up_notice(pool, campuses):
    "A water outage in the east campus's family area, published"
    Notice = pool.get('meter.notice')
    Location = pool.get('meter.location')
    area, = Location.search([('campus', '=', campuses[0].id),
            ('kind', '=', 'family_area'), ('parent', '=', None)], limit=1)
    start = dt.datetime.combine(
        dt.date.today() + dt.timedelta(days=2), dt.time(8))
    notice, = Notice.create([{
                'title': "家属区计划停水", 'kind': 'water_outage',
                'campus': campuses[0].id, 'location': area.id,
                'start': start, 'end': start + dt.timedelta(hours=8),
                'body': "因供水管网检修，东校区家属区将于检修期间停止供水，"
                "请提前储水。如有疑问请联系东校区服务大厅。",
                }])
    Notice.publish([notice])


def set_up_calendars(pool, campuses):
    """The office hours of the campuses, with the National Day holiday of
    2026, its weekend days worked instead and New Year's Day 2027"""
    Calendar = pool.get('meter.calendar')
    days = [{'date': dt.date(2026, 10, d), 'name': "国庆节"}
        for d in range(1, 8)]
    days += [{'date': d, 'kind': 'working', 'name': "国庆节调休上班"}
        for d in [dt.date(2026, 9, 20), dt.date(2026, 10, 10)]]
    days.append({'date': dt.date(2027, 1, 1), 'name': "元旦"})
    common = Calendar.for_campus(None)
    if common is None:
        common, = Calendar.create([{'name': "办公时间"}])
    Calendar.write([common], {
            'name': "办公时间",
            'day_start': dt.time(8), 'day_end': dt.time(17, 30),
            'break_start': dt.time(12), 'break_end': dt.time(14, 30),
            'days': [('create', days)],
            })
    # The west campus keeps its own hours (see CAMPUSES)
    Calendar.create([{
                'name': "西校区办公时间", 'campus': campuses[1].id,
                'day_start': dt.time(8, 30), 'day_end': dt.time(17),
                'break_start': dt.time(12), 'break_end': dt.time(14),
                'days': [('create', days)],
                }])


def set_up_users(pool, campuses):
    "Demo users of each post, with passwords for the demo only"
    User = pool.get('res.user')
    Group = pool.get('res.group')
    ModelData = pool.get('ir.model.data')
    Lang = pool.get('ir.lang')
    zh, = Lang.search([('code', '=', 'zh_CN')])

    def group(name):
        return Group(ModelData.get_id('meter_base', name))

    admin, = User.search([('login', '=', 'admin')])
    User.write([admin], {'language': zh.id, 'name': "系统管理员"})
    User.create([{
                'login': 'field', 'name': "外线人员 (东校区)",
                'password': 'field-demo', 'language': zh.id,
                'groups': [('add', [group('group_field_staff').id])],
                'meter_campuses': [('add', [campuses[0].id])],
                }, {
                'login': 'finance', 'name': "财务人员",
                'password': 'finance-demo', 'language': zh.id,
                'groups': [('add', [group('group_finance').id])],
                }, {
                'login': 'desk', 'name': "服务台",
                'password': 'desk-demo', 'language': zh.id,
                'groups': [('add', [group('group_service_desk').id])],
                }])
    set_up_manager(pool)


def set_up_manager(pool):
    """The centre's manager: the managers' group of every addon, no
    administration rights (added to a demo database loaded before)"""
    User = pool.get('res.user')
    Group = pool.get('res.group')
    ModelData = pool.get('ir.model.data')
    Lang = pool.get('ir.lang')
    with Transaction().set_context(active_test=False):
        if User.search([('login', '=', 'manager')]):
            return False
    zh, = Lang.search([('code', '=', 'zh_CN')])
    User.create([{
                'login': 'manager', 'name': "中心管理人员",
                'password': 'manager-demo', 'language': zh.id,
                'groups': [('add', [
                            Group(ModelData.get_id('meter_base',
                                    'group_meter_admin')).id])],
                }])
    return True


def set_up_posts(pool, campuses):
    """The centre's departments and posts; the demo users hold the posts
    of their work, which give them the groups and campuses they had, and
    keep no group or campus of their own (the administrator keeps his).
    Added to a demo database loaded before."""
    Department = pool.get('meter.department')
    Post = pool.get('meter.post')
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    with Transaction().set_context(active_test=False):
        if Department.search([('code', '=', 'C')]):
            return False
    campus_ids = {c.code: c.id for c in campuses}
    users = {u.login: u for u in User.search([
                ('login', 'in', ['field', 'finance', 'desk', 'manager'])])}
    departments = {}
    for code, name, parent in DEPARTMENTS:
        department, = Department.create([{
                    'code': code, 'name': name,
                    'parent': departments[parent].id if parent else None,
                    'manager': (users['manager'].id
                        if code == 'C' and 'manager' in users else None),
                    }])
        departments[code] = department
    for code, name, groups, campus_codes, holders in POSTS:
        groups = [ModelData.get_id('meter_base', g) for g in groups]
        holders = [users[h] for h in holders if h in users]
        Post.create([{
                    'department': departments[code].id, 'name': name,
                    'groups': [('add', groups)],
                    'campuses': [('add', [campus_ids[c]
                                    for c in campus_codes])],
                    'holders': [('add', [u.id for u in holders])],
                    }])
        if holders:
            User.write(holders, {
                    'groups': [('remove', groups)],
                    'meter_campuses': [('remove', list(campus_ids.values()))],
                    })
    return True


# Business messages (业务消息): the kinds each post is told of, by name
POST_MESSAGES = {
    "收费员": ['binding', 'work_order'],
    "审核员": ['transfer'],
    "主任": ['binding', 'work_order', 'reading_review'],
    }


def set_up_business_messages(pool):
    """Switch on the business messages of the posts, so that what waits
    reaches the desk, finance and the manager; before the data is loaded,
    so that the bells have something to say"""
    Post = pool.get('meter.post')
    posts = Post.search([('name', 'in', list(POST_MESSAGES))])
    if not posts or any(p.message_binding or p.message_transfer
            for p in posts):
        return False
    for post in posts:
        Post.write([post], {'message_%s' % k: True
                for k in POST_MESSAGES[post.name]})
    return True


def set_up_resident(pool):
    "A resident of the WeChat pages, bound to the first account (approved)"
    User = pool.get('meter.wechat.user')
    Binding = pool.get('meter.wechat.binding')
    Account = pool.get('meter.account')
    account, = Account.search([('number', '=', 'E00001')])
    user, = User.create([{
                'openid': 'demo-resident', 'phone': account.phone,
                'registered_at': dt.datetime.now()}])
    binding, = Binding.create([{
                'user': user, 'account': account,
                'verification': account.name, 'verified': True,
                'requested_at': dt.datetime.now()}])
    Binding.approve([binding])


def set_up_appointment(pool):
    "The demo resident's meter reading visit, in the first slot offered"
    Calendar = pool.get('meter.calendar')
    WorkOrder = pool.get('meter.work_order')
    User = pool.get('meter.wechat.user')
    user, = User.search([('openid', '=', 'demo-resident')])
    account = user.approved_accounts[0]
    start, _, _ = Calendar.appointment_slots(account.campus)[0]
    WorkOrder.create([{
                'kind': 'appointment', 'appointment_type': 'meter_reading',
                'subject': "抄表", 'appointment_at': start,
                'description': "电表读数与账单不符，请上门核对。",
                'account': account.id, 'campus': account.campus.id,
                'location': account.location.id if account.location else None,
                'requester': account.name, 'requester_phone': user.phone,
                'wechat_user': user.id,
                }])


def demo_photos(count):
    """Return count photos of meters: the shared test photos beside the
    checkout when they are there, else dials drawn here (a fresh machine
    has only the repository)"""
    import glob
    import io
    import os

    from PIL import Image, ImageDraw
    paths = sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(
                        os.path.abspath(__file__))), '..', 'shared',
                'testdata', 'meter-photos', 'wmsc_*.jpg')))
    photos = []
    for index in range(count):
        if paths:
            with open(paths[index % len(paths)], 'rb') as fp:
                photos.append(fp.read())
            continue
        image = Image.new('RGB', (800, 600), (40 + 30 * index, 40, 40))
        draw = ImageDraw.Draw(image)
        draw.rectangle([200, 250, 600, 350], fill=(15, 15, 15))
        draw.text((330, 290), "0 3 1 9 %d" % index, fill=(255, 255, 255))
        data = io.BytesIO()
        image.save(data, 'JPEG')
        photos.append(data.getvalue())
    return photos


def set_up_field_work(pool):
    """Today's work of the east campus's field user: one of their readings
    waiting for review (lower than the last one, with a photo) and a
    repair assigned to them; the meters of the campus are not read yet this
    month.  Added to a demo database loaded before."""
    User = pool.get('res.user')
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    WorkOrder = pool.get('meter.work_order')
    users = User.search([('login', '=', 'field')])
    if not users or Reading.search([('reader', '=', users[0].id)], limit=1):
        return False
    user, = users
    meter, = Meter.search([('number', '=', 'DE000050')])
    data, = demo_photos(1)
    Reading.submit(meter, str(meter.last_value - Decimal(30)), data,
        user.rec_name, source='field', reader=user)
    WorkOrder.create([{
                'kind': 'repair', 'subject': "表箱门锁损坏",
                'description': "E1幢楼道表箱门锁坏了，请更换。",
                'account': meter.account.id, 'campus': meter.campus.id,
                'location': meter.location.id if meter.location else None,
                'assignee': user.id,
                }])
    return True


def set_up_installation(pool, campuses):
    """A water meter the field staff of the east campus recorded on site,
    waiting for the office to confirm it (Meters to Confirm)"""
    import io

    from PIL import Image, ImageDraw

    Meter = pool.get('meter.meter')
    Location = pool.get('meter.location')
    User = pool.get('res.user')
    if Meter.search([('number', '=', 'E-NEW-0001')]):
        return False
    field, = User.search([('login', '=', 'field')])
    location = Location.search([('campus', '=', campuses[0].id),
            ('kind', '=', 'building')], order=[('id', 'ASC')], limit=1)
    # The photo of the new register: its initial value on a dial
    photo = io.BytesIO()
    image = Image.new('RGB', (640, 480), (235, 235, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle([120, 190, 520, 290], fill=(20, 20, 20))
    draw.text((250, 225), "0 0 0 1 2", fill=(255, 255, 255))
    image.save(photo, 'JPEG')
    with Transaction().set_user(field.id):
        Meter.install({
                'number': 'E-NEW-0001', 'kind': 'water',
                'campus': campuses[0].id,
                'location': location[0].id if location else None,
                'place': "一楼水表井", 'barcode': '6900000001',
                'seal': 'FY-000001', 'digits': 5, 'decimals': 1,
                'multiplier': Decimal(1), 'initial_value': Decimal(12),
                }, photo.getvalue())
    return True


def set_up_field_reports(pool, campuses):
    """A fault and a meter whose barcode differs from its record, reported
    from site by the east campus's field staff; tell if they were made"""
    import io

    from PIL import Image, ImageDraw
    User = pool.get('res.user')
    WorkOrder = pool.get('meter.work_order')
    Meter = pool.get('meter.meter')
    if WorkOrder.search([('kind', 'in', ['fault', 'meter_mismatch'])]):
        return False
    field, = User.search([('login', '=', 'field')])
    meters = Meter.search([('campus', '=', campuses[0].id),
            ('kind', '=', 'electricity'), ('state', '=', 'active')],
        order=[('number', 'ASC')], limit=2)
    image = Image.new('RGB', (800, 600), (70, 80, 90))
    ImageDraw.Draw(image).rectangle((250, 150, 550, 450), fill=(200, 60, 40))
    photo = io.BytesIO()
    image.save(photo, 'JPEG')
    with Transaction().set_user(field.id):
        WorkOrder.report_fault(field, "表箱门锁损坏，箱内有焦味，已断开总闸。",
            meter=meters[0], photos=[(photo.getvalue(), 'meter-box.jpg')])
        WorkOrder.report_fault(field, "路灯电缆井盖缺失。",
            place="东校区北门外绿化带", latitude='30.274085',
            longitude='120.155070')
        WorkOrder.report_meter_mismatch(meters[-1], {
                'barcode': '6920260815' + meters[-1].number[-3:],
                'seal': 'QF-2026-0815',
                }, note="表上贴有条码，档案中没有。")
    return True


def set_up_rounds(pool, campuses):
    """The east campus's field user's reading round (抄表任务) of this month
    on a building, made from a saved route: three meters read (with real
    photos), one skipped because nobody was home, the rest to read; tell
    if it was made"""
    from trytond.modules.meter_base.configuration import to_utc
    User = pool.get('res.user')
    Meter = pool.get('meter.meter')
    Location = pool.get('meter.location')
    Reading = pool.get('meter.reading')
    Route = pool.get('meter.field.route')
    Round = pool.get('meter.field.round')
    Line = pool.get('meter.field.round.line')
    Configuration = pool.get('meter.configuration')
    Date = pool.get('ir.date')
    field, = User.search([('login', '=', 'field')])
    if Route.search([('staff', '=', field.id)], limit=1):
        return False
    # The first building of the campus with a few active meters
    for building in Location.search([('campus', '=', campuses[0].id),
                ('kind', '=', 'building')], order=[('name', 'ASC')]):
        meters = Meter.search(Round.meter_domain(campuses[0], building),
            order=Round.route_order(), limit=8)
        if len(meters) >= 6:
            break
    route, = Route.create([{
                'name': "%s抄表路线" % building.name, 'staff': field.id,
                'campus': campuses[0].id,
                'meters': [('create', [{'meter': m.id, 'sequence': i}
                            for i, m in enumerate(meters, 1)])],
                }])
    today = Date.today()
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(
        days=1)
    round_, = Route.generate_rounds([route], start, end)
    photos = demo_photos(3)
    zone = Configuration.tzinfo()
    now = dt.datetime.now().replace(microsecond=0)
    month_start = to_utc(dt.datetime.combine(start, dt.time()), zone)
    lines = list(round_.lines)
    for index, (line, minutes) in enumerate(zip(lines[:3], [95, 72, 41])):
        photo = photos[index]
        meter = line.meter
        Reading.create([{
                    'meter': meter.id,
                    'value': (meter.last_value or meter.initial_value)
                    + Decimal(12 + 5 * index),
                    'taken_at': max(now - dt.timedelta(minutes=minutes),
                        month_start + dt.timedelta(minutes=index + 1)),
                    'source': 'field', 'reader': field.id,
                    'submitter': field.rec_name, 'photo': photo,
                    }])
    with Transaction().set_user(field.id):
        Line.skip([Line(lines[3].id)], 'nobody_home', "敲门无人应答，已留言")
        Round.keep_notes(Round(round_.id), "4号表所在户无人，约好下周再来。")
    return True


def set_up_bluetooth(pool):
    """A water meter of the east campus read over Bluetooth by `field`
    (蓝牙抄表): its reply, a real CJ/T 188 frame, decoded by the server
    and kept on the reading.  Every demo meter has a protocol and a
    communication address, so any of them can be tried with a real BLE
    serial bridge."""
    from trytond.modules.meter_devices.protocols import cjt188
    User = pool.get('res.user')
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    Line = pool.get('meter.field.round.line')
    Configuration = pool.get('meter.configuration')
    key = 'demo-bluetooth-0001'
    users = User.search([('login', '=', 'field')])
    if not users or Reading.of_key(key):
        return False
    user, = users
    in_rounds = {l.meter.id for l in Line.search([])}
    meter = next(m for m in Meter.search([
                ('campus.code', '=', 'E'), ('kind', '=', 'water'),
                ('protocol', '=', 'cjt188_2004'), ('state', '=', 'active'),
                ('comm_address', '!=', None)], order=[('number', 'ASC')])
        if m.id not in in_rounds)
    flow = (meter.last_value or meter.initial_value) + Decimal('7.25')
    now = dt.datetime.now(Configuration.tzinfo()).replace(microsecond=0)
    reply = cjt188.encode_reply(meter.comm_address, flow=flow,
        clock=now.replace(tzinfo=None), preamble=True)
    Reading.submit_bluetooth(meter, reply.hex(), user.rec_name,
        now.astimezone(dt.timezone.utc).replace(tzinfo=None), key,
        reader=user)
    return True


def set_up_history(pool, campuses):
    """Accounts that went live three months ago, imported from the billing
    system's export, with the usage the billing system billed in the 15
    months before (its history export, an XLSX), so that their 12 months
    show 历史数据 before the first readings; the demo resident has the
    first one too.  Tell if they were added."""
    import io

    import xlsxwriter

    Account = pool.get('meter.account')
    Meter = pool.get('meter.meter')
    Reading = pool.get('meter.reading')
    Location = pool.get('meter.location')
    User = pool.get('meter.wechat.user')
    Binding = pool.get('meter.wechat.binding')
    Configuration = pool.get('meter.configuration')
    AccountImport = pool.get('meter.account.import', type='wizard')
    HistoryImport = pool.get('meter.billing.history.import', type='wizard')
    with Transaction().set_context(active_test=False):
        if Account.search([('number', '=', 'E09001')]):
            return False
    rng = random.Random(20261206)
    east, west = campuses
    east_building, = Location.search([
            ('campus', '=', east.id), ('kind', '=', 'building')],
        order=[('name', 'ASC')], limit=1)
    west_building, = Location.search([
            ('campus', '=', west.id), ('kind', '=', 'unit_building')],
        order=[('name', 'ASC')], limit=1)
    # The billing system's account export (its headers as it names them)
    rows = [
        ('E09001', "周新民", 'resident', 'E', east_building.name,
            '13800009001'),
        ('E09002', "吴晓燕", 'resident', 'E', east_building.name,
            '13800009002'),
        ('W09003', "继续教育学院", 'unit', 'W', west_building.name, ''),
        ]
    accounts_csv = 'account,name,category,campus,building,phone\r\n' + ''.join(
        ','.join(row) + '\r\n' for row in rows)
    AccountImport.import_file(accounts_csv.encode('utf-8'), '收费系统户号.csv')
    accounts = Account.search([('number', 'in', [r[0] for r in rows])],
        order=[('number', 'ASC')])
    meters = Meter.create([{
                'number': f'{"D" if kind == "electricity" else "S"}'
                f'{account.number}0',
                'kind': kind, 'account': account, 'campus': account.campus,
                'location': account.location,
                'digits': 6 if kind == 'electricity' else 5,
                'decimals': 1 if kind == 'electricity' else 0,
                'multiplier': Decimal(1),
                'protocol': 'dlt645_2007' if kind == 'electricity'
                else 'cjt188_2004',
                'reading_method': 'manual',
                'install_date': dt.date.today() - dt.timedelta(days=120),
                'initial_value': Decimal(rng.randrange(0, 3000)),
                } for account in accounts for kind in (
                ['electricity', 'water'] if account.category == 'resident'
                else ['electricity'])])
    # Readings of the three months since they went live
    Configuration.write([Configuration(1)], {'photo_required_sources': []})
    dates = months_back(dt.date.today(), 3)
    values = {m: m.initial_value for m in meters}
    for taken_at in dates:
        batch = []
        for meter in meters:
            use = Decimal(rng.randrange(120, 300) if meter.kind == 'electricity'
                else rng.randrange(6, 20))
            values[meter] += use
            batch.append({'meter': meter, 'taken_at': taken_at,
                    'value': values[meter], 'source': 'field'})
        Reading.create(batch)
    Configuration.write([Configuration(1)], {
            'photo_required_sources': ['self', 'field']})
    # The billing system's history of the 15 months before
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {'in_memory': True})
    sheet = workbook.add_worksheet('历史用量')
    sheet.write_row(0, 0, ['户号', '表号', '月份', '用量', '金额'])
    row = 1
    first = dates[0]
    for meter in meters:
        price = Decimal('0.568') if meter.kind == 'electricity' else (
            Decimal('3.20'))
        for back in range(1, 16):
            year, index = divmod(first.year * 12 + first.month - 1 - back, 12)
            usage = Decimal(rng.randrange(110, 320) if meter.kind ==
                'electricity' else rng.randrange(5, 22))
            sheet.write_row(row, 0, [meter.account.number, meter.number,
                    '%04d-%02d' % (year, index + 1), float(usage),
                    float((usage * price).quantize(Decimal('0.01')))])
            row += 1
    workbook.close()
    HistoryImport.import_file(output.getvalue(), '收费系统历史用量.xlsx')
    # The demo resident has the first one too (a second resident account)
    users = User.search([('openid', '=', 'demo-resident')])
    if users:
        binding, = Binding.create([{
                    'user': users[0], 'account': accounts[0],
                    'verification': accounts[0].name, 'verified': True,
                    'requested_at': dt.datetime.now()}])
        Binding.approve([binding])
    return True


def set_up_losses(pool, campuses):
    """A building's main water meter (总表) over the water meters of its
    accounts, read on the first of each month: 3 % more than they used
    until two months ago, then 15 % (a leak, 跑冒滴漏, above the
    building's 8 %); the losses of the billing periods computed; tell if
    it was made"""
    from trytond.modules.meter_base.configuration import to_utc
    from trytond.modules.meter_field.loss import cumulate, interpolate
    Meter = pool.get('meter.meter')
    Location = pool.get('meter.location')
    Reading = pool.get('meter.reading')
    Period = pool.get('meter.billing.period')
    Loss = pool.get('meter.loss')
    Configuration = pool.get('meter.configuration')
    if Meter.search([('number', '=', 'ZB-E-1')]):
        return False
    for building in Location.search([('campus', '=', campuses[0].id),
                ('kind', '=', 'building')], order=[('name', 'ASC')]):
        subs = Meter.search([('location', '=', building.id),
                ('kind', '=', 'water'), ('state', '=', 'active'),
                ('account', '!=', None)])
        if len(subs) >= 3:
            break
    readings = Reading.search([('meter', 'in', [m.id for m in subs]),
            ('state', '=', 'confirmed')],
        order=[('meter', 'ASC'), ('taken_at', 'ASC'), ('id', 'ASC')])
    history = cumulate((r.meter.id, r.taken_at, r.consumption)
        for r in readings)
    zone = Configuration.tzinfo()
    today = dt.date.today()
    firsts = [today.replace(day=1)]
    for _ in range(11):
        firsts.insert(0, (firsts[0] - dt.timedelta(days=1)).replace(day=1))
    values, value, previous = [], None, None
    for index, first in enumerate(firsts):
        moment = to_utc(dt.datetime.combine(first, dt.time(8)), zone)
        used = sum(interpolate(history[m.id], moment)[0] or 0 for m in subs)
        if previous is None:
            value = Decimal(1000)
        else:
            factor = Decimal('1.15') if index >= len(firsts) - 2 else (
                Decimal('1.03'))
            value += ((used - previous) * factor).quantize(Decimal(1))
        previous = used
        values.append((moment, value))
    main, = Meter.create([{
                'number': 'ZB-E-1', 'kind': 'water',
                'campus': campuses[0].id, 'location': building.id,
                'place': f"{building.name} 楼前水表井",
                'digits': 7, 'decimals': 0, 'multiplier': Decimal(1),
                'initial_value': values[0][1], 'reading_method': 'manual',
                'brand': "宁水", 'meter_model': "LXS-50E",
                }])
    Meter.write(subs, {'parent_meter': main.id})
    Location.write([building], {'loss_threshold': Decimal(8)})
    created = Reading.create([{
                'meter': main.id, 'taken_at': moment, 'value': value,
                'source': 'import', 'submitter': "总表月度抄读",
                } for moment, value in values[1:]])
    Reading.confirm([r for r in created if r.state == 'draft'])
    Loss.compute(Period.search([]))
    return True


def set_up_dashboard_usage(pool):
    """Compute the dashboard's use of the last twelve months as the daily
    cron does, once the readings are in; tell if it was computed"""
    from trytond.modules.meter_field import dashboard_usage
    since, _, _ = dashboard_usage.window(dashboard_usage.today())
    if dashboard_usage.stored_since() == since:
        return False
    pool.get('meter.dashboard').refresh_usage()
    return True


def finish_configuration(pool):
    "Mark the set-up wizards done so that sao opens straight on the menu"
    Item = pool.get('ir.module.config_wizard.item')
    Item.write(Item.search([]), {'state': 'done'})


def set_up_online_payment(pool, campuses):
    """The fake UnionPay gateway `make demo` starts on 127.0.0.1:8010 (its
    keys and certificates in data/fake-unionpay, made by demo.sh), for
    both campuses, so that a resident can pay online; an order paid online
    and the day's reconciliation with its gateway statement.  Tell if
    they were set."""
    import json
    import os
    from trytond.modules.meter_billing.rules import unionpay
    Gateway = pool.get('meter.payment.gateway')
    Campus = pool.get('meter.campus')
    Bill = pool.get('meter.bill')
    Order = pool.get('meter.payment.order')
    Reconciliation = pool.get('meter.payment.reconciliation')
    Date = pool.get('ir.date')
    if Gateway.search([], limit=1):
        return False
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, 'data', 'fake-unionpay', 'pki.json')
    if os.path.exists(path):
        with open(path) as fp:
            pki = json.load(fp)
    else:
        # Not prepared by demo.sh (e.g. the sao sweep): keys of its own,
        # which no running fake knows
        sys.path.insert(0, root)
        from tests.fakes.unionpay import make_pki
        pki = make_pki()
    gateway, = Gateway.create([{
                'name': "银联在线支付（演示用本地模拟网关）",
                'provider': 'unionpay',
                'merchant': '777290058110048',
                'url': 'http://127.0.0.1:8010/',
                'server_url': 'http://127.0.0.1:8000/',
                'private_key': pki['merchant_key'],
                'certificate': pki['merchant_cert'],
                'authority_certificate': pki['authority_cert'],
                }])
    Campus.write(list(campuses), {'payment_gateway': gateway.id})
    # A resident of the west campus paid a bill online: finance finds the
    # payment, its order and the gateway's log, and the day's statement
    bills = Bill.search([
            ('campus', '=', campuses[1].id),
            ('state', '=', 'posted'),
            ('billing_mode', '=', 'postpaid'),
            ], order=[('due_date', 'ASC'), ('id', 'ASC')], limit=1)
    if not bills:
        return True
    bill, = bills
    account = bill.account
    order = Order.create_for(account, bills=[bill.id], payer=account.phone)
    Order.process(order, unionpay.Result(order.number, 'paid',
            order.amount, 'DEMO%016d' % order.id, '00', 'success'),
        'notification', 'demo')
    # The gateway's statement archive, in UnionPay's format
    name, archive = unionpay.write_archive([
            unionpay.StatementLine(order.number, 'DEMO%016d' % order.id,
                order.amount, order.sent_at.strftime('%Y%m%d%H%M%S')),
            unionpay.StatementLine('DEMOUNKNOWN0001', 'DEMO-UNKNOWN',
                Decimal('25.00'), order.sent_at.strftime('%Y%m%d%H%M%S')),
            ], gateway.merchant, Date.today())
    reconciliation, = Reconciliation.create([{
                'gateway': gateway.id, 'date': Date.today(),
                'statement_name': name,
                'statement': archive,
                }])
    Reconciliation.reconcile([reconciliation])
    return True


def main(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    Pool.start()
    pool = Pool(database)
    pool.init()
    extras = {}
    while True:
        with Transaction().start(
                database, 0, readonly=False, **extras) as transaction:
            try:
                if load_once(pool):
                    transaction.commit()
                    print("Demo data loaded.")
                else:
                    print("Demo data already loaded.")
            except TransactionError as exception:
                # Singletons and sequences lock their table: start again
                # with the lock taken, as the server does.
                transaction.rollback()
                exception.fix(extras)
                continue
        break


def load_once(pool):
    """Load the demo data unless it is there; tell if it was loaded.

    A database loaded by an earlier version of this script gets the parts
    added since (the manager, the payee, the devices) and nothing twice."""
    Campus = pool.get('meter.campus')
    with Transaction().set_context(active_test=False):
        campuses = Campus.search(
            [('code', 'in', [c[0] for c in CAMPUSES])], order=[('code', 'ASC')])
    if campuses:
        # E sorts before W: east first, as created
        added = set_up_manager(pool)
        added |= set_up_posts(pool, campuses)
        added |= set_up_business_messages(pool)
        added |= set_up_payee(pool)
        added |= set_up_devices(pool, campuses, random.Random(20261206))
        added |= set_up_field_work(pool)
        added |= set_up_installation(pool, campuses)
        added |= set_up_labels(pool)
        added |= set_up_integration(pool)
        added |= set_up_field_reports(pool, campuses)
        added |= set_up_rounds(pool, campuses)
        added |= set_up_bluetooth(pool)
        added |= set_up_history(pool, campuses)
        added |= set_up_online_payment(pool, campuses)
        added |= set_up_losses(pool, campuses)
        added |= set_up_dashboard_usage(pool)
        return added
    # Tables locked on the way: the appointment counts the places of its
    # slot, the singletons are created on their first write, a campus's
    # receipt sequence of the year once.  Ask for the locks first rather
    # than load everything again for each (minutes every time).
    for name in ['meter.work_order', 'meter.configuration',
            'meter.campus.receipt_sequence', 'meter.billing.configuration',
            'meter.label.configuration', 'meter.sms.configuration',
            'meter.billing.exchange']:
        pool.get(name).lock()
    rng = random.Random(20261125)
    campuses = load(pool, rng)
    set_up_calendars(pool, campuses)
    set_up_users(pool, campuses)
    set_up_posts(pool, campuses)
    set_up_business_messages(pool)
    set_up_resident(pool)
    set_up_appointment(pool)
    set_up_billing(pool, campuses, rng)
    set_up_payee(pool)
    set_up_notice(pool, campuses)
    set_up_devices(pool, campuses, rng)
    set_up_field_work(pool)
    set_up_installation(pool, campuses)
    set_up_labels(pool)
    set_up_integration(pool)
    set_up_field_reports(pool, campuses)
    set_up_rounds(pool, campuses)
    set_up_bluetooth(pool)
    set_up_history(pool, campuses)
    set_up_online_payment(pool, campuses)
    set_up_losses(pool, campuses)
    set_up_dashboard_usage(pool)
    finish_configuration(pool)
    return True


if __name__ == '__main__':
    main(sys.argv[1])
