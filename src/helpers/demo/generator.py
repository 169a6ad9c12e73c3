"""Synthetic demo data: all seven canonical sources of a B2B / B2C company, with real signal and
the quirks the cleaning step must handle.

Run ``PYTHONPATH=src python -m helpers.demo.generator --customers 5000 --seed 2026 --end 2026-09-30
--out data/demo``; tests and benchmarks call :func:`generate` and :func:`write` in-process.

How the data are made (one latent model, everything vectorised with numpy):

* People get a type (30% enterprise), region, acquisition channel, a signup date (growing
  over time, seasonal), a lognormal latent value and a complaint propensity.
* Purchases follow a Poisson process per person whose rate grows with value; churners have a
  constant hazard (higher for low value, some channels and complaint-prone people) and their
  rate decays over the months before they stop (the "buy till you die" story of Fader, Hardie
  and Lee 2005). Baskets follow category affinities, so association rules exist.
* Tickets come from purchase lines (two products are faulty; churners complain more before they
  leave); their comments' tone follows how the ticket was handled, not only its type (a complaint
  resolved within two days often thanks the team, a slowly answered question is often annoyed),
  drawn from a stream of its own so that tone can change without moving any other value.
* Surveys sample each quarter's active customers and their NPS falls with complaints and slow
  resolution; events are sessions around web / app orders plus browsing sessions.
* Quirks: the same people in CRM and web shop with differently written e-mail and phone,
  verbatim duplicate order lines, zero / negative amounts, the year 2026 typed as 2062, orphan
  customer ids, missing birth years, cancelled / refunded orders and returns, and comments in
  which customers give their own name, phone number or e-mail address.

Every name, phone number, e-mail address and ID number is made up from character lists
(e-mail domains are the reserved ``example.*`` ones).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from helpers.data.schema import SOURCES
from helpers.quarters import Quarter

__all__ = ["generate", "iter_sources", "write", "main", "SOURCE_ORDER"]

SOURCE_ORDER = ("products", "customers", "orders", "tickets", "surveys", "events", "campaigns")
HISTORY_MONTHS = 45  # 3 years and 3 quarters
DAY = 86_400
_CHUNK = 2_000_000

# --------------------------------------------------------------------------------------------
# Fixed vocabularies
# --------------------------------------------------------------------------------------------
REGIONS = ("East China", "South China", "North China", "Central China", "Southwest China",
           "Northwest China", "Northeast China", "Overseas")
REGION_WEIGHTS = np.array([0.30, 0.20, 0.16, 0.11, 0.10, 0.05, 0.05, 0.03])
SOUTH_CHINA = 1
OVERSEAS = 7
OVERSEAS_COUNTRIES = ("Singapore", "Germany", "United States", "Japan")
OVERSEAS_WEIGHTS = np.array([0.35, 0.20, 0.25, 0.20])

INDUSTRIES = ("Manufacturing", "Retail", "IT services", "Finance", "Healthcare", "Education",
              "Logistics", "Energy")
INDUSTRY_WEIGHTS = np.array([0.22, 0.16, 0.15, 0.10, 0.10, 0.09, 0.10, 0.08])
COMPANY_SIZES = ("large", "medium", "small")
SIZE_WEIGHTS = np.array([0.15, 0.35, 0.50])

CHANNELS = ("search", "social media", "referral", "trade fair", "direct sales", "partner")
CHANNEL_WEIGHTS = {  # rows: individual, enterprise
    "individual": np.array([0.33, 0.32, 0.22, 0.03, 0.02, 0.08]),
    "enterprise": np.array([0.12, 0.05, 0.15, 0.25, 0.28, 0.15]),
}
CHANNEL_VALUE = np.array([1.0, 0.7, 1.3, 0.6, 1.25, 1.05])      # latent value multiplier
CHANNEL_CHURN = np.array([1.1, 1.5, 0.7, 1.35, 0.8, 0.95])       # churn hazard multiplier
CHANNEL_CAC = np.array([480.0, 620.0, 160.0, 9200.0, 3900.0, 1150.0])  # spend per acquired person
CHANNEL_LEAD_CONVERSION = np.array([0.08, 0.04, 0.35, 0.12, 0.20, 0.15])

# Calendar-month seasonality: Chinese New Year dip in February, 618 in June, Q4 peak.
SEASON = np.array([0.95, 0.72, 0.98, 1.0, 1.0, 1.08, 0.95, 0.95, 1.02, 1.05, 1.25, 1.35])
ANNUAL_GROWTH = 0.30

CATEGORIES = ("Software licences", "Hardware", "Accessories", "Consumables", "Services",
              "Training", "Subscriptions", "Spare parts")
# (name, category index, list price, unit cost as share of price)
PRODUCTS = (
    ("Office Suite Standard licence", 0, 1280, 0.18), ("Office Suite Pro licence", 0, 2680, 0.18),
    ("ERP Lite licence", 0, 8800, 0.22), ("CRM Cloud seat licence", 0, 1680, 0.20),
    ("Design Studio licence", 0, 4200, 0.20), ("Security Suite licence", 0, 960, 0.15),
    ("Data Analytics licence", 0, 6500, 0.22), ("Database Server licence", 0, 12800, 0.25),
    ("Business Laptop L14", 1, 6499, 0.78), ("Desktop Workstation W7", 1, 8999, 0.75),
    ("Smart Router R5", 1, 899, 0.62), ("Network Switch S24", 1, 2350, 0.66),
    ("Thermal Label Printer P2", 1, 1299, 0.64), ("Barcode Scanner B3", 1, 699, 0.60),
    ("Tablet T10", 1, 2999, 0.72), ("Monitor 27 inch M27", 1, 1899, 0.74),
    ("Wireless Mouse M2", 2, 129, 0.42), ("Mechanical Keyboard K8", 2, 399, 0.45),
    ("USB-C Docking Station D4", 2, 899, 0.50), ("Laptop Bag", 2, 199, 0.38),
    ("Headset H5", 2, 349, 0.44), ("Webcam C9", 2, 459, 0.47),
    ("Power Adapter 65W", 2, 189, 0.40), ("HDMI Cable 2m", 2, 49, 0.30),
    ("Label Roll 100mm", 3, 35, 0.52), ("Toner Cartridge TN-22", 3, 289, 0.58),
    ("Ink Cartridge Colour", 3, 159, 0.55), ("Thermal Paper Box", 3, 89, 0.54),
    ("Cleaning Kit", 3, 59, 0.45), ("A4 Copy Paper Carton", 3, 129, 0.70),
    ("Screen Protector", 3, 39, 0.35), ("Battery Pack AA x20", 3, 69, 0.50),
    ("On-site Installation", 4, 1200, 0.55), ("Extended Warranty 1 year", 4, 680, 0.30),
    ("Annual Maintenance Contract", 4, 4800, 0.48), ("Data Migration Service", 4, 3600, 0.52),
    ("Remote IT Support (monthly)", 4, 900, 0.45), ("Network Setup Service", 4, 2200, 0.50),
    ("Device Repair Service", 4, 450, 0.55),
    ("Office Suite Training Course", 5, 800, 0.40), ("ERP Key User Training", 5, 3200, 0.38),
    ("Security Awareness Workshop", 5, 1500, 0.35), ("Data Analytics Bootcamp", 5, 4500, 0.36),
    ("Online Training Pass", 5, 599, 0.20), ("Admin Certification Course", 5, 2800, 0.40),
    ("Cloud Storage 1TB (annual)", 6, 699, 0.25), ("CRM Cloud subscription (monthly)", 6, 299, 0.22),
    ("Security Updates subscription", 6, 399, 0.18), ("Premium Support subscription", 6, 1980, 0.35),
    ("Design Assets subscription", 6, 499, 0.20), ("Backup as a Service", 6, 1200, 0.30),
    ("Collaboration Suite subscription", 6, 360, 0.24),
    ("Laptop Battery L14", 7, 459, 0.50), ("Printer Head P2", 7, 329, 0.48),
    ("Router Antenna Kit", 7, 89, 0.40), ("Replacement Fan", 7, 129, 0.45),
    ("SSD 1TB", 7, 599, 0.68), ("Memory Module 16GB", 7, 429, 0.66),
    ("Keyboard Replacement Keys", 7, 59, 0.35), ("Power Supply Unit", 7, 269, 0.52),
)
FAULTY_PRODUCTS = ("Smart Router R5", "Tablet T10")  # persistently more quality complaints
CHEAP_CATEGORIES = np.array([False, False, True, True, False, False, False, True])

# First line of a basket: category preference by customer type, tilted by region.
FIRST_CATEGORY = {
    "individual": np.array([0.07, 0.15, 0.25, 0.18, 0.04, 0.04, 0.15, 0.12]),
    "enterprise": np.array([0.20, 0.20, 0.08, 0.10, 0.15, 0.07, 0.12, 0.08]),
}
REGION_TILT = np.ones((len(REGIONS), len(CATEGORIES)))
REGION_TILT[0, 6] = 1.25
REGION_TILT[1, 1], REGION_TILT[1, 2] = 1.4, 1.2
REGION_TILT[2, 0], REGION_TILT[2, 4] = 1.3, 1.2
REGION_TILT[3, 3], REGION_TILT[3, 7] = 1.3, 1.2
REGION_TILT[4, 5] = 1.3
REGION_TILT[5, 7], REGION_TILT[5, 1] = 1.4, 1.1
REGION_TILT[6, 3], REGION_TILT[6, 4] = 1.2, 1.2
REGION_TILT[7, 0], REGION_TILT[7, 6] = 1.5, 1.3
# Further lines of a basket given the first line's category: Hardware -> Accessories and
# Services, Software licences -> Training, ... (these are the association rules to find).
AFFINITY = np.array([
    # Soft  Hard  Acc   Cons  Serv  Train Subs  Spare
    [0.10, 0.05, 0.05, 0.00, 0.22, 0.40, 0.18, 0.00],  # Software licences
    [0.10, 0.08, 0.38, 0.12, 0.20, 0.00, 0.00, 0.12],  # Hardware
    [0.00, 0.15, 0.35, 0.25, 0.00, 0.00, 0.10, 0.15],  # Accessories
    [0.00, 0.10, 0.30, 0.45, 0.00, 0.00, 0.00, 0.15],  # Consumables
    [0.15, 0.20, 0.00, 0.00, 0.15, 0.20, 0.00, 0.30],  # Services
    [0.35, 0.00, 0.00, 0.00, 0.15, 0.25, 0.25, 0.00],  # Training
    [0.25, 0.00, 0.10, 0.00, 0.15, 0.20, 0.30, 0.00],  # Subscriptions
    [0.00, 0.00, 0.15, 0.20, 0.30, 0.00, 0.00, 0.35],  # Spare parts
])

ORDER_CHANNELS = ("online", "offline", "app")
ORDER_STATUSES = ("completed", "cancelled", "refunded")

COMPLAINT_TYPES = ("quality", "delivery", "billing", "service attitude", "technical issue")
COMPLAINT_TYPE_WEIGHTS = np.array([
    [0.25, 0.25, 0.15, 0.15, 0.20],  # ordinary product
    [0.75, 0.08, 0.04, 0.05, 0.08],  # faulty product
    [0.12, 0.60, 0.08, 0.10, 0.10],  # South China in the latest quarter (delivery problems)
])
DEPARTMENTS = ("After-sales", "Logistics", "Finance", "Technical support", "Sales")
TICKET_CHANNELS = ("phone", "e-mail", "online chat", "WeChat")
TICKET_CHANNEL_WEIGHTS = np.array([[0.22, 0.10, 0.30, 0.38],   # individual
                                   [0.38, 0.32, 0.12, 0.18]])  # enterprise
FIRST_RESPONSE_MEDIAN_HOURS = np.array([0.5, 9.0, 0.3, 1.2])
RESOLUTION_MEDIAN_HOURS = np.array([70.0, 46.0, 34.0, 22.0, 40.0])  # by complaint type

EVENT_TYPES = ("visit", "product_view", "add_to_cart", "purchase", "feature_use")
FEATURES = ("search", "wishlist", "compare", "reorder", "live chat")
FEATURE_WEIGHTS = np.array([[0.40, 0.15, 0.25, 0.10, 0.10],   # web
                            [0.30, 0.15, 0.05, 0.32, 0.18]])  # app

THEMES = ("price", "quality", "delivery speed", "ease of use", "support responsiveness",
          "feature requests", "trust/relationship")
COMPLAINT_THEME = np.array([1, 2, 0, 4, 3])  # complaint type -> main theme of its comment

# Comment sentences: TEXTS[sentiment][language][theme] -> list of sentences.
# sentiment 0 negative, 1 neutral / question, 2 positive; language 0 English, 1 Chinese.
TEXTS: dict[int, dict[int, dict[int, list[str]]]] = {
    0: {
        0: {
            0: ["The price went up again and is now well above what competitors charge.",
                "Far too expensive for what we get, the invoice was higher than the quote.",
                "We were charged more than agreed, very disappointing."],
            1: ["The product broke after two weeks, poor quality.",
                "Terrible quality, the unit keeps failing.",
                "Second faulty unit in a month, this is unacceptable."],
            2: ["Delivery took far too long, we waited more than two weeks.",
                "The shipment arrived late and the box was damaged.",
                "Delivery was delayed again without any notice, very frustrating."],
            3: ["The setup is confusing and the manual does not help at all.",
                "Very hard to use, our staff cannot find the settings.",
                "The app is clumsy and keeps logging me out."],
            4: ["Nobody answered my calls for three days.",
                "Support is slow and the agent was rude.",
                "I had to explain the problem four times, awful service."],
            5: ["Still no export function although we asked for it months ago, frustrating.",
                "The software lacks basic reporting, it is a real problem for us.",
                "No bulk ordering option, which wastes a lot of our time."],
            6: ["We have been loyal customers for years but feel ignored.",
                "I no longer trust your promises about fixes.",
                "We are considering switching to another supplier after this."],
        },
        1: {
            0: ["价格又涨了，比别家贵太多。", "太贵了，发票金额比报价还高。", "多收了我们的钱，非常失望。"],
            1: ["用了两周就坏了，质量太差。", "质量很差，设备总是出故障。", "一个月内第二台出问题，无法接受。"],
            2: ["发货太慢了，等了两个多星期。", "快递晚到而且包装破损。", "又延迟发货，也没有任何通知，很生气。"],
            3: ["安装太复杂，说明书一点用都没有。", "很难用，员工找不到设置在哪里。", "App很不好用，老是自动退出登录。"],
            4: ["打了三天电话都没人接。", "客服回复太慢，态度也很差。", "同一个问题解释了四遍，服务太糟糕。"],
            5: ["几个月前就提过导出功能，到现在还没有，很失望。", "软件连基本的报表都没有，问题很大。",
                "不能批量下单，浪费我们很多时间。"],
            6: ["我们合作多年，却感觉被忽视。", "已经不再相信你们会修好的承诺。", "出了这种事，我们在考虑换供应商。"],
        },
    },
    1: {
        0: {
            0: ["Could you send a quote for twenty units?", "Is there a volume discount for annual contracts?",
                "The price is acceptable, nothing special."],
            1: ["What is the warranty period for this model?", "Quality is fine, works as expected."],
            2: ["When will my order be shipped?", "Can you deliver to our Chengdu office?",
                "Delivery was okay, could be a bit faster."],
            3: ["How do I configure user permissions?", "Is there a guide for the initial setup?",
                "Usable, although some menus take time to learn."],
            4: ["What are the support hours during public holidays?", "Support was okay."],
            5: ["Does the software support single sign-on?", "Will the API be available next quarter?",
                "It would be nice to have a dark mode."],
            6: ["We would like to discuss renewing our framework agreement.", "Overall an average experience."],
        },
        1: {
            0: ["能报一下二十台的价格吗？", "年度合同有批量折扣吗？", "价格还可以，一般般。"],
            1: ["这个型号保修多久？", "质量还行，符合预期。"],
            2: ["我的订单什么时候发货？", "可以送到我们成都办公室吗？", "物流还行，可以再快一点。"],
            3: ["怎么设置用户权限？", "有初次安装的指南吗？", "能用，但有些菜单要花时间熟悉。"],
            4: ["节假日客服几点上班？", "客服还可以。"],
            5: ["软件支持单点登录吗？", "下个季度会开放接口吗？", "希望能增加深色模式。"],
            6: ["想和你们谈一下框架协议续签的事。", "整体体验一般。"],
        },
    },
    2: {
        0: {
            0: ["Good value for money and fair pricing.", "The discount made a real difference, thank you.",
                "Reasonable price compared with others."],
            1: ["Excellent quality, works perfectly.", "Very reliable product, no problems at all.",
                "Solid build quality, we are very happy."],
            2: ["Fast delivery, it arrived the next day.", "Shipping was quick and well packed."],
            3: ["Easy to set up and simple to use.", "The new app is intuitive and fast."],
            4: ["Support answered quickly and solved it on the first call.",
                "Very helpful and friendly service team."],
            5: ["The new reorder feature saves us a lot of time.", "Love the new dashboard features."],
            6: ["A partner we trust, great long-term relationship.",
                "Our account manager really understands our business."],
        },
        1: {
            0: ["性价比很高，价格公道。", "折扣力度很大，谢谢。", "价格比别家合理。"],
            1: ["质量非常好，用起来很完美。", "产品很可靠，一点问题都没有。", "做工扎实，我们很满意。"],
            2: ["发货很快，第二天就到了。", "物流很快，包装也很好。"],
            3: ["安装简单，操作方便。", "新版App很流畅，很好用。"],
            4: ["客服响应很快，一次就解决了问题。", "服务团队非常热情专业。"],
            5: ["新的一键复购功能帮我们省了很多时间。", "很喜欢新的数据看板功能。"],
            6: ["值得信赖的合作伙伴，长期合作很愉快。", "客户经理很懂我们的业务。"],
        },
    },
}

# A ticket's comment does not always take the tone of its type: some complaints are factual or
# thank the team for the resolution, some consultations are pleased or annoyed.
# TICKET_TEXTS[kind][tone][language][theme] -> sentences; kind 0 complaint, 1 consultation; tone
# 0 negative, 1 neutral, 2 positive (a type's usual tone is in TEXTS: complaints 0, consultations 1).
TICKET_TEXTS = {
    0: {
        1: {
            0: {0: ["The invoice shows a different unit price from the quote, please correct it.",
                    "We were billed for twenty units but ordered twelve, could you check the invoice?"],
                1: ["One unit of the last batch will not switch on, please arrange a replacement.",
                    "The casing of the new unit has a crack, could a technician look at it?"],
                2: ["The parcel has not arrived yet, could you send us the tracking code?",
                    "Two items of the order were not in the parcel, please send them separately."],
                3: ["We cannot find where to change user roles, could you explain the steps?",
                    "The manual describes an older version of the menu, please send the current one."],
                4: ["I called on Monday about this and am waiting for the callback.",
                    "The ticket reference I was given does not show up in the portal."],
                5: ["The export leaves out the order reference, please add it.",
                    "We need the report to show costs per site, which it does not do yet."],
                6: ["The date given for the fix has passed, please tell us the new date.",
                    "We would like a call with our account manager to review the open cases."]},
            1: {0: ["发票上的单价和报价有出入，请核对一下。", "我们订了十二台，却按二十台开了发票，请核实。"],
                1: ["上一批里有一台开不了机，请安排更换。", "新设备外壳有裂缝，能派技术人员来看一下吗？"],
                2: ["包裹还没收到，请提供一下物流单号。", "订单里有两件商品没在包裹里，请另外寄过来。"],
                3: ["找不到修改用户角色的地方，请说明一下步骤。", "说明书写的是旧版菜单，请发一份最新的。"],
                4: ["周一打电话反映过这个情况，现在在等回电。", "给我的工单号在系统里查不到。"],
                5: ["导出的表格里缺少订单号这一列，请加上。", "我们需要报表按网点显示费用，目前还做不到。"],
                6: ["承诺的修复日期已经过了，请告知新的日期。", "想约客户经理通个电话，一起看一下未结的工单。"]},
        },
        2: {
            0: {0: ["The invoice was wrong, but finance corrected it the same day. Thank you.",
                    "We were overcharged at first, but the refund came quickly and in full. Much appreciated."],
                1: ["The first unit was faulty, but the replacement arrived in two days and works perfectly.",
                    "The product broke, but after-sales replaced it quickly. Great service, thank you."],
                2: ["The delivery was late, but the courier called ahead and everything arrived in good shape. Thanks.",
                    "The parcel was delayed, but your team kept us informed and solved it. Happy with the result."],
                3: ["The setup confused us at first, but your colleague walked us through it patiently. Very helpful.",
                    "We struggled with the settings, but the video guide you sent made it easy. Thank you."],
                4: ["My first call was not answered, but the agent who called back was friendly and solved it.",
                    "It took a while to reach support, but the problem was resolved on the spot. Thanks a lot."],
                5: ["The missing export was a problem for us, but the workaround you sent does the job. Thank you.",
                    "We missed bulk ordering, but glad to hear it is coming and the interim solution works well."],
                6: ["This was a bad month, but the way you handled it restored our trust. Thank you.",
                    "We were close to leaving, but your account manager sorted everything out. Much appreciated."]},
            1: {0: ["发票开错了，不过财务当天就改好了，谢谢。", "一开始多收了钱，但退款很快就到账了，非常感谢。"],
                1: ["第一台有故障，不过两天就换了新的，用起来很好，谢谢。", "产品坏了，售后很快就给换了，服务很好，谢谢。"],
                2: ["发货晚了几天，但快递员提前打了电话，东西完好无损，谢谢。", "包裹延误了，不过你们一直及时通知，最后解决了，很满意。"],
                3: ["一开始不会设置，你们的同事很耐心地教我们，很有帮助。", "设置了半天没弄好，你们发的视频教程很清楚，谢谢。"],
                4: ["第一次打电话没人接，但回电的客服很热情，一次就解决了。", "联系客服花了点时间，不过问题当场就解决了，非常感谢。"],
                5: ["缺少导出功能给我们带来不便，不过你们给的临时办法很好用，谢谢。", "希望有批量下单，听说很快会上线，现在的办法也很方便。"],
                6: ["这个月出了不少状况，但你们的处理方式让我们重新放心了，谢谢。", "本来打算换供应商，客户经理把事情都处理好了，非常满意，感谢。"]},
        },
    },
    1: {
        0: {
            0: {0: ["Third time asking for a quote and still no answer, this is frustrating.",
                    "Your price list is confusing and nobody could explain the discount to me."],
                1: ["I asked twice about the warranty and got two different answers, very annoying.",
                    "Nobody could tell me which model fits our machines, a waste of my time."],
                2: ["I have asked three times when my order ships and nobody replies, really annoying.",
                    "Still waiting for a delivery date after a week, this is ridiculous."],
                3: ["The setup guide you sent is useless, it describes a different model.",
                    "I asked how to add users and was sent a link that does not work, frustrating."],
                4: ["I was on hold for forty minutes just to ask about your opening hours.",
                    "Asked a simple question by e-mail, no reply in five days, disappointing."],
                5: ["I asked about single sign-on months ago and heard nothing back. Disappointing.",
                    "Nobody can tell us when the API will be ready, we are tired of asking."],
                6: ["We asked to discuss the renewal twice and were ignored both times.",
                    "Hard to get anyone to talk to us about the contract, very disappointing."]},
            1: {0: ["第三次问报价了，还是没人回复，很失望。", "价格表看不懂，问了也没人能解释折扣怎么算。"],
                1: ["问了两次保修期，得到两个不同的答案，很无语。", "没人能告诉我哪个型号适合我们的设备，浪费时间，很失望。"],
                2: ["问了三次什么时候发货，一直没人理，很生气。", "等了一周还是没有发货日期，太离谱了。"],
                3: ["发来的安装指南是别的型号的，根本没用。", "问怎么添加用户，给的链接打不开，很失望。"],
                4: ["只是问一下上班时间，电话等了四十分钟，太久了。", "发邮件问了个小问题，五天都没回复。"],
                5: ["几个月前就问过单点登录，一直没消息，很失望。", "没人能告诉我们接口什么时候上线，问得很累。"],
                6: ["两次提出谈续签，两次都被忽视了。", "想谈合同却找不到人，非常失望。"]},
        },
        2: {
            0: {0: ["Thanks for the quick quote, the volume discount is very fair.",
                    "Great, the pricing for the annual contract is clear and reasonable."],
                1: ["Thanks for explaining the warranty so clearly, very helpful.",
                    "Glad to hear the model is covered for three years, thank you."],
                2: ["Thanks, the tracking link you sent is very helpful.",
                    "Great to hear you can deliver to our Chengdu office, thank you."],
                3: ["The setup guide you sent is excellent, we are up and running. Thanks!",
                    "Thank you for the quick answer on user permissions, it worked right away."],
                4: ["Thanks for the fast and friendly reply about the holiday hours.",
                    "Very helpful answer from your support team, thank you."],
                5: ["Great to hear single sign-on is supported, thanks for the quick reply.",
                    "Thank you, glad the API is coming next quarter."],
                6: ["Thank you for the quick call about our renewal, a pleasure as always.",
                    "We appreciate how quickly you arranged the contract meeting, thanks."]},
            1: {0: ["谢谢这么快就报了价，批量折扣很合理。", "年度合同的价格很清楚，很公道，谢谢。"],
                1: ["谢谢把保修条款解释得这么清楚，很有帮助。", "听说这个型号保修三年，很放心，谢谢。"],
                2: ["谢谢发来物流链接，很方便。", "可以送到成都办公室，太好了，谢谢。"],
                3: ["发来的安装指南很清楚，我们已经用上了，谢谢！", "用户权限的问题回答得很及时，马上就设置好了，感谢。"],
                4: ["谢谢这么快回复节假日的服务时间，很贴心。", "客服回答得很专业，谢谢。"],
                5: ["支持单点登录，太好了，谢谢这么快回复。", "听说下个季度开放接口，很期待，谢谢。"],
                6: ["谢谢及时安排续签的电话，合作一直很愉快。", "很快就安排了合同会议，非常感谢。"]},
        },
    },
}

# Tone shares per ticket: rows (complaint handled well, complaint handled badly, consultation
# answered fast, consultation answered slowly), columns (negative, neutral, positive).
# A complaint is handled well when resolved within 48 hours and not reopened; a consultation is
# answered fast when its first answer came within 4 hours.
TICKET_TONE_WEIGHTS = np.array([[0.35, 0.30, 0.35],
                                [0.70, 0.25, 0.05],
                                [0.05, 0.70, 0.25],
                                [0.30, 0.62, 0.08]])

# Personal data vocabularies (characters, not people).
SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
            ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
            ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
            ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
            ("潘", "pan"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"), ("叶", "ye"),
            ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lyu"), ("丁", "ding"), ("任", "ren"),
            ("沈", "shen"), ("姚", "yao"))
GIVEN = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
         ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
         ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
         ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("文", "wen"), ("华", "hua"),
         ("建", "jian"), ("国", "guo"), ("玲", "ling"), ("欣", "xin"), ("宇", "yu"), ("浩", "hao"),
         ("子", "zi"), ("轩", "xuan"), ("晨", "chen"), ("悦", "yue"), ("婷", "ting"), ("雪", "xue"),
         ("鹏", "peng"), ("辉", "hui"), ("佳", "jia"), ("琪", "qi"), ("思", "si"), ("梦", "meng"),
         ("博", "bo"), ("凯", "kai"), ("蕾", "lei"), ("雨", "yu"), ("然", "ran"), ("一", "yi"),
         ("嘉", "jia"), ("俊", "jun"))
BRAND = (("华", "hua"), ("瑞", "rui"), ("鑫", "xin"), ("泰", "tai"), ("恒", "heng"), ("达", "da"),
         ("盛", "sheng"), ("远", "yuan"), ("博", "bo"), ("创", "chuang"), ("新", "xin"), ("宏", "hong"),
         ("锦", "jin"), ("晨", "chen"), ("腾", "teng"), ("凯", "kai"), ("智", "zhi"), ("信", "xin"),
         ("源", "yuan"), ("航", "hang"), ("云", "yun"), ("中", "zhong"), ("天", "tian"), ("安", "an"),
         ("立", "li"), ("峰", "feng"), ("嘉", "jia"), ("汇", "hui"), ("东", "dong"), ("海", "hai"))
CITIES = (("上海", "杭州", "南京", "苏州", "宁波"), ("广州", "深圳", "东莞", "佛山", "厦门"),
          ("北京", "天津", "石家庄", "济南", "太原"), ("武汉", "长沙", "郑州", "合肥", "南昌"),
          ("成都", "重庆", "昆明", "贵阳", "南宁"), ("西安", "兰州", "银川", "西宁", "乌鲁木齐"),
          ("沈阳", "大连", "长春", "哈尔滨", "吉林"), ("上海", "深圳", "北京", "广州", "杭州"))
INDUSTRY_WORDS = (("机械制造", "精密制造", "智能装备"), ("商贸", "零售连锁", "贸易"), ("信息技术", "软件", "网络科技"),
                  ("投资", "金融服务", "资产管理"), ("医疗器械", "健康科技", "生物科技"), ("教育科技", "培训", "文化传播"),
                  ("物流", "供应链管理", "速运"), ("能源", "新能源科技", "电力工程"))
OVERSEAS_SUFFIX = (" Trading Pte. Ltd.", " Technik GmbH", " Solutions Inc.", " Co., Ltd.")
EMAIL_DEPARTMENTS = ("sales", "purchasing", "info", "admin", "it", "office")
PERSONAL_DOMAINS = ("example.com", "example.cn", "mail.example.net", "example.org")
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                  "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182",
                  "183", "185", "186", "187", "188", "189", "191", "198", "199")
AREA_CODES = (("310101", "330106", "320102", "320505", "330203"), ("440106", "440305", "441900", "440604", "350203"),
              ("110105", "120101", "130102", "370102", "140105"), ("420106", "430102", "410105", "340104", "360102"),
              ("510107", "500103", "530102", "520102", "450103"), ("610113", "620102", "640104", "630104", "650102"),
              ("210102", "210202", "220102", "230103", "220202"), ("310115", "440304", "110108", "440103", "330108"))
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
USCC_CHARS = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
HOUR_WEIGHTS = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 3.5, 5.5, 6.5, 6.0,
                         4.5, 5.0, 6.0, 6.0, 5.5, 4.5, 3.5, 4.5, 5.5, 5.0, 3.0, 1.2])


# --------------------------------------------------------------------------------------------
# Small vectorised tools
# --------------------------------------------------------------------------------------------
def _draw_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Category index per element, drawn from ``probs[rows[i]]`` (inverse CDF, one search)."""
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum(axis=1, keepdims=True)
    n_rows, n_cols = probs.shape
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_rows)[:, None]).ravel()
    rows = np.asarray(rows)
    out = np.empty(len(rows), dtype=np.int8 if n_cols < 128 else np.int64)
    for first in range(0, len(rows), _CHUNK):  # in chunks: small temporaries, same random stream
        part = rows[first:first + _CHUNK].astype(np.int64)
        pos = np.searchsorted(flat, part + rng.random(len(part)), side="right")
        out[first:first + _CHUNK] = np.clip(pos - part * n_cols, 0, n_cols - 1)
    return out


def _draw(rng: np.random.Generator, probs, size: int) -> np.ndarray:
    probs = np.asarray(probs, dtype=float)
    return _draw_rows(rng, probs[None, :], np.zeros(size, dtype=np.int64))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Fixed-width ids such as ``C0000123`` built as bytes (fast for tens of millions)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"id numbers must fit in {width} digits")
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    matrix = np.empty((len(numbers), len(head) + width), dtype=np.uint8)
    matrix[:, : len(head)] = head
    matrix[:, len(head):] = _digits(numbers, width)
    return pd.Series(_text(matrix), dtype="str")


def _pick(values, index: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    """``values[index]`` as a string Series (missing where ``missing`` is True)."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    idx = pa.array(np.asarray(index), mask=missing)
    return pd.Series(arr.take(idx), dtype="str")


def _to_datetime(start: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Float days since ``start`` -> datetime64[ns] (NaN -> NaT), rounded to the second."""
    days = np.asarray(days, dtype=float)
    seconds = np.round(days * DAY)
    out = np.datetime64(start, "s") + np.where(np.isfinite(seconds), seconds, 0).astype("timedelta64[s]")
    out = out.astype("datetime64[ns]")
    out[~np.isfinite(seconds)] = np.datetime64("NaT")
    return out


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Fraction of a day with a business-hours and evening profile."""
    hours = _draw(rng, HOUR_WEIGHTS, size)
    return (hours + rng.random(size)) / 24.0


def _at_least(count: float, minimum: int, available: int) -> int:
    return int(min(available, max(minimum, round(count))))


def _typo_year(year: int) -> int:
    """The year with its last two digits swapped (2026 -> 2062), always in the future."""
    text = str(year)
    typo = int(text[:2] + text[3] + text[2])
    return typo if typo > year else year + 100


def _retype_year(stamps: np.ndarray) -> np.ndarray:
    """Dates of the end year re-typed with the swapped year (only a handful of rows)."""
    out = []
    for stamp in pd.DatetimeIndex(stamps):
        try:
            out.append(stamp.replace(year=_typo_year(stamp.year)))
        except ValueError:  # 29 February in a non-leap typo year
            out.append(stamp.replace(year=_typo_year(stamp.year), day=28))
    return pd.DatetimeIndex(out).as_unit("ns").to_numpy()


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------
class _World:
    """Namespace for the latent state shared by the sources (people, accounts, purchase lines);
    times are float days since the first day of the history."""


def _calendar(end: str) -> tuple[pd.Timestamp, pd.Timestamp, np.ndarray, np.ndarray]:
    end_day = pd.Timestamp(end).normalize()
    start = end_day + pd.Timedelta(days=1) - pd.DateOffset(months=HISTORY_MONTHS)
    stop = end_day + pd.Timedelta(days=1)
    edges = [start]
    month = pd.Timestamp(start.year, start.month, 1) + pd.DateOffset(months=1)
    while month < stop:
        edges.append(month)
        month += pd.DateOffset(months=1)
    edges.append(stop)
    edge_days = np.array([(e - start).days for e in edges], dtype=float)
    calendar_month = np.array([e.month - 1 for e in edges[:-1]])
    return start, end_day, edge_days, calendar_month


def _people(world: _World, rng: np.random.Generator, n_people: int) -> None:
    """Latent attributes per person: type, region, channel, signup, value, purchase rate, churn."""
    w = world
    n = n_people
    w.is_ent = rng.random(n) < 0.30
    w.industry = np.where(w.is_ent, _draw(rng, INDUSTRY_WEIGHTS, n), -1).astype(np.int64)
    w.size = np.where(w.is_ent, _draw(rng, SIZE_WEIGHTS, n), -1).astype(np.int64)
    w.region = _draw(rng, REGION_WEIGHTS, n).astype(np.int64)
    w.country = np.where(w.region == OVERSEAS, _draw(rng, OVERSEAS_WEIGHTS, n), -1).astype(np.int64)
    w.channel = _draw_rows(rng, np.vstack([CHANNEL_WEIGHTS["individual"], CHANNEL_WEIGHTS["enterprise"]]),
                           w.is_ent.astype(int)).astype(np.int64)
    # Signup: growing and seasonal over the history, 3% in the year before it.
    mids = (w.edges[:-1] + w.edges[1:]) / 2
    month_weight = np.exp(np.log1p(ANNUAL_GROWTH) / 365.25 * mids) * SEASON[w.cal_month] * np.diff(w.edges)
    w.month_weight = month_weight / month_weight.sum()
    month = _draw(rng, w.month_weight, n)
    signup = w.edges[month] + rng.random(n) * np.diff(w.edges)[month]
    early = rng.random(n) < 0.03
    signup[early] = -365 * rng.random(early.sum())
    w.signup = np.floor(signup)
    # Latent value (lognormal), complaint propensity, satisfaction, birth year.
    w.value = rng.lognormal(-0.45, 0.95, n) * CHANNEL_VALUE[w.channel] * np.where(w.is_ent, 1.15, 1.0)
    w.complainer = rng.lognormal(0.0, 0.55, n)
    w.mood = rng.normal(0.0, 1.0, n)  # latent satisfaction: happier customers score higher, stay longer
    w.birth_year = np.clip(np.round(rng.normal(1987, 11, n) + np.where(w.channel == 1, 5, 0)),
                           w.end_year - 70, w.end_year - 18).astype(int)
    # Purchasing: first order shortly after signup (4% never buy), Poisson rate per day.
    w.first_order = w.signup + rng.exponential(2.5, n)
    w.first_order[rng.random(n) < 0.04] = np.inf
    # Frequency: value-driven with extra gamma heterogeneity (many occasional buyers, NBD-like).
    w.rate = 0.68 / 30.4 * w.value ** 0.6 * rng.gamma(0.6, 1 / 0.6, n) * np.where(w.is_ent, 1.15, 1.0) \
        * np.exp(0.2 * w.mood - 0.02)
    # Churn: constant hazard from the first order; low value, some channels, complainers churn more.
    hazard = (0.016 / 30.4) * w.value ** -0.35 * CHANNEL_CHURN[w.channel] * np.where(w.is_ent, 0.65, 1.0) \
        * w.complainer ** 1.2 * np.exp(-0.4 * w.mood)
    w.churn = w.first_order + rng.exponential(1.0 / hazard)
    w.favourite = _draw_rows(rng, _first_category_rows(), _category_row(w))
    w.zh_share = np.where(w.region == OVERSEAS, 0.05, np.where(w.is_ent, 0.36, 0.47))


def _first_category_rows() -> np.ndarray:
    base = np.vstack([FIRST_CATEGORY["individual"], FIRST_CATEGORY["enterprise"]])
    return (base[:, None, :] * REGION_TILT[None, :, :]).reshape(-1, len(CATEGORIES))


def _category_row(w: _World) -> np.ndarray:
    return w.is_ent.astype(int) * len(REGIONS) + w.region


def _accounts(world: _World, rng: np.random.Generator, n_accounts: int) -> None:
    """Primary account per person, plus a second account in the other system for ~5% of people."""
    w = world
    n = len(w.signup)
    n_dup = n_accounts - n
    alive_until = np.minimum(w.churn, w.end_t)
    eligible = np.flatnonzero((w.first_order >= 0) & (w.first_order < w.end_t - 30)
                              & (alive_until - w.first_order > 30))
    if len(eligible) < n_dup:
        eligible = np.flatnonzero(np.isfinite(w.first_order) & (w.first_order < w.end_t - 1))
    n_dup = min(n_dup, len(eligible))
    w.dup_person = np.sort(rng.choice(eligible, n_dup, replace=False))
    span = alive_until[w.dup_person] - w.first_order[w.dup_person]
    w.dup_signup = np.floor(w.first_order[w.dup_person] + rng.uniform(0.05, 0.6, n_dup) * span)
    w.dup_of = np.full(n, -1)
    w.dup_of[w.dup_person] = n + np.arange(n_dup)
    # Systems: enterprises live mostly in CRM, individuals mostly in the web shop.
    primary_crm = rng.random(n) < np.where(w.is_ent, 0.85, 0.25)
    w.acc_person = np.concatenate([np.arange(n), w.dup_person])
    w.acc_crm = np.concatenate([primary_crm, ~primary_crm[w.dup_person]])
    w.acc_signup = np.concatenate([w.signup, w.dup_signup])
    w.n_accounts = len(w.acc_person)
    # Account numbers: sequential by signup within each system.
    order = np.lexsort((np.arange(w.n_accounts), w.acc_signup))
    number = np.empty(w.n_accounts, dtype=np.int64)
    for crm, offset in ((True, 1000), (False, 5000)):
        members = order[w.acc_crm[order] == crm]
        number[members] = offset + np.arange(len(members))
    w.next_number = {True: 1000 + int(w.acc_crm.sum()), False: 5000 + int((~w.acc_crm).sum())}
    crm_ids = _ids("C", number, 7)
    web_ids = _ids("W", number, 7)
    w.acc_ids = pa.array(np.where(w.acc_crm, crm_ids.to_numpy(), web_ids.to_numpy()), type=pa.string())


def _digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """ASCII digit matrix (n x width, zero padded) of non-negative integers."""
    rest = np.asarray(numbers).astype(np.uint64)
    out = np.empty((len(rest), width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        quotient = rest // np.uint64(10)
        out[:, k] = rest - quotient * np.uint64(10) + np.uint64(48)
        rest = quotient
    return out


def _text(matrix: np.ndarray) -> pa.Array:
    """Rows of an ASCII byte matrix as an Arrow string array."""
    matrix = np.ascontiguousarray(matrix, dtype=np.uint8)
    fixed = pa.array(matrix.view(f"S{matrix.shape[1]}").ravel(), type=pa.binary(matrix.shape[1]))
    return fixed.cast(pa.binary()).cast(pa.string())


def _join(*parts) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and plain strings."""
    return pc.binary_join_element_wise(*parts, "")


def _vocab(values, index: np.ndarray) -> pa.Array:
    return pa.array(list(values), type=pa.string()).take(pa.array(np.asarray(index)))


def _unique_ids(make, n: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of ``make(rng, rows)`` (a byte matrix), re-drawn until every row is unique."""
    matrix = make(rng, np.arange(n))
    while True:
        rows = np.ascontiguousarray(matrix).view(np.dtype((np.void, matrix.shape[1]))).ravel()
        _, first = np.unique(rows, return_index=True)
        repeated = np.setdiff1d(np.arange(n), first)
        if not len(repeated):
            return matrix
        matrix[repeated] = make(rng, repeated)


def _personal(world: _World, rng: np.random.Generator) -> pd.DataFrame:
    """Names, phones, e-mails and ID numbers per person, written per account with variations."""
    w = world
    n = len(w.signup)
    ent = w.is_ent
    # Names: surname + one or two given characters; companies: city + brand + trade + suffix.
    sur = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = np.where(rng.random(n) < 0.3, len(GIVEN), rng.integers(0, len(GIVEN), n))  # len(GIVEN): none
    given_zh, given_py = [g[0] for g in GIVEN] + [""], [g[1] for g in GIVEN] + [""]
    sur_py = _vocab([s[1] for s in SURNAMES], sur)
    given = _join(_vocab(given_py, g1), _vocab(given_py, g2))
    person_name = _join(_vocab([s[0] for s in SURNAMES], sur), _vocab(given_zh, g1), _vocab(given_zh, g2))
    b1 = rng.integers(0, len(BRAND), n)
    b2 = rng.integers(0, len(BRAND), n)
    brand_py = _join(_vocab([b[1] for b in BRAND], b1), _vocab([b[1] for b in BRAND], b2))
    city = _vocab([c for row in CITIES for c in row], w.region * 5 + rng.integers(0, 5, n))
    word = _vocab([x for row in INDUSTRY_WORDS for x in row], np.maximum(w.industry, 0) * 3 + rng.integers(0, 3, n))
    company = _join(city, _vocab([b[0] for b in BRAND], b1), _vocab([b[0] for b in BRAND], b2), word,
                    _vocab(("股份有限公司", "有限公司"), (w.size != 0).astype(int)))
    overseas = _join(pc.utf8_capitalize(brand_py), _vocab(OVERSEAS_SUFFIX, np.maximum(w.country, 0)))
    company = pc.if_else(pa.array(w.region == OVERSEAS), overseas, company)
    name = pc.if_else(pa.array(ent), company, person_name)
    del person_name, company, overseas, city, word

    # E-mail: pinyin-like local part at reserved example domains, unique per person.
    digits = pa.array(rng.integers(1, 1000, n)).cast(pa.string())
    yy = pc.utf8_lpad(pa.array(w.birth_year % 100).cast(pa.string()), 2, "0")
    local_person = pc.choose(pa.array(rng.integers(0, 4, n).astype(np.int8)),
                             _join(given, ".", sur_py), _join(sur_py, given, yy),
                             _join(sur_py, "_", given, digits), _join(given, sur_py, digits))
    local_company = _join(_vocab(EMAIL_DEPARTMENTS, rng.integers(0, len(EMAIL_DEPARTMENTS), n)), ".",
                          brand_py, digits)
    email = _join(pc.if_else(pa.array(ent), local_company, local_person), "@",
                  _vocab(PERSONAL_DOMAINS, rng.integers(0, len(PERSONAL_DOMAINS), n)))
    del local_person, local_company, digits, yy, given, sur_py, brand_py
    repeated = pd.Series(email, dtype="str").duplicated().to_numpy()
    email = pc.if_else(pa.array(repeated), _join(email, "_", pa.array(np.arange(n)).cast(pa.string())), email)

    # Phone: Chinese mobile number, unique per person (affine permutation of the 8-digit tail).
    prefix = _vocab(PHONE_PREFIXES, rng.integers(0, len(PHONE_PREFIXES), n))
    tail = _digits((np.arange(n, dtype=np.int64) * 48_271 + int(rng.integers(0, 10**8))) % 10**8, 8)
    half1, half2 = _text(tail[:, :4]), _text(tail[:, 4:])
    del tail

    # ID number: 18-digit resident ID (area, birth date, sequence, ISO 7064 MOD 11-2 check) or
    # an 18-character unified social credit code (GB 32100-2015 check) for enterprises.
    area = np.array([int(a) for row in AREA_CODES for a in row])[w.region * 5 + rng.integers(0, 5, n)]
    birth = (np.array(w.birth_year - 1970, dtype="datetime64[Y]").astype("datetime64[D]")
             + rng.integers(0, 365, n).astype("timedelta64[D]"))
    birth_digits = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "").astype("S8")
    birth_digits = np.frombuffer(birth_digits.tobytes(), dtype=np.uint8).reshape(n, 8)
    area_digits = _digits(area, 6)

    def resident(r: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        body = np.hstack([area_digits[rows], birth_digits[rows], _digits(r.integers(0, 1000, len(rows)), 3)])
        check = ID_CHECK[((body.astype(np.int64) - 48) * ID_WEIGHTS).sum(axis=1) % 11]
        return np.hstack([body, check[:, None]])

    def credit_code(r: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        head = np.hstack([np.full((len(rows), 2), [57, 49], dtype=np.uint8), area_digits[rows]])  # "91" + area
        body = np.hstack([head, USCC_CHARS[r.integers(0, len(USCC_CHARS), (len(rows), 9))]])
        values = np.searchsorted(USCC_CHARS, body)  # USCC_CHARS is sorted
        check = USCC_CHARS[(31 - (values * USCC_WEIGHTS).sum(axis=1) % 31) % 31]
        return np.hstack([body, check[:, None]])

    def either(r: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        return np.where(ent[rows][:, None], credit_code(r, rows), resident(r, rows))

    id_number = _text(_unique_ids(either, n, rng))
    del birth_digits, area_digits

    # Per account: the second account writes the same e-mail / phone differently.
    acc = pa.array(w.acc_person)
    is_dup_account = np.arange(w.n_accounts) >= n
    style = _draw(rng, [0.7, 0.15, 0.15], n)[w.acc_person].astype(np.int64)
    style[is_dup_account] = (style[is_dup_account] + rng.integers(1, 3, is_dup_account.sum())) % 3
    p, h1, h2 = prefix.take(acc), half1.take(acc), half2.take(acc)
    phone = pc.choose(pa.array(style.astype(np.int8)), _join(p, h1, h2), _join("+86 ", p, " ", h1, " ", h2),
                      _join(p, "-", h1, "-", h2))
    del p, h1, h2
    mail = email.take(acc)
    upper = pc.utf8_upper(mail)
    varied = pc.choose(pa.array(rng.integers(0, 4, w.n_accounts).astype(np.int8)), upper,
                       _join(" ", mail, " "), _join(pc.utf8_capitalize(mail), " "), _join(" ", upper))
    # Single accounts (people with one account) are sometimes messy too; a pair always differs.
    single = (~is_dup_account) & (w.dup_of[np.minimum(w.acc_person, n - 1)] < 0)
    messy_single = single & (rng.random(w.n_accounts) < 0.04)
    mail = pc.if_else(pa.array(is_dup_account | messy_single), varied, mail)
    del varied, upper
    # A few single accounts lack a phone or an e-mail (never both, never a duplicate pair).
    gap = rng.random(w.n_accounts)
    no_text = pa.scalar(None, pa.string())
    mail = pc.if_else(pa.array(single & (gap < 0.02)), no_text, mail)
    phone = pc.if_else(pa.array(single & (gap >= 0.02) & (gap < 0.04)), no_text, phone)

    person = w.acc_person
    ent_acc = ent[person]
    birth_year = pd.array(np.where(ent_acc, 0, w.birth_year[person]), dtype="Int64")
    birth_year[ent_acc | (rng.random(w.n_accounts) < 0.15)] = pd.NA
    frame = pd.DataFrame({
        "customer_id": pd.Series(w.acc_ids, dtype="str"),
        "source_system": _pick(("webshop", "crm"), w.acc_crm.astype(np.int8)),
        "name": pd.Series(name.take(acc), dtype="str"),
        "phone": pd.Series(phone, dtype="str"),
        "email": pd.Series(mail, dtype="str"),
        "id_number": pd.Series(id_number.take(acc), dtype="str"),
        "customer_type": _pick(("individual", "enterprise"), ent_acc.astype(np.int8)),
        "industry": _pick(INDUSTRIES, np.maximum(w.industry[person], 0), ~ent_acc),
        "company_size": _pick(COMPANY_SIZES, np.maximum(w.size[person], 0), ~ent_acc),
        "region": _pick(REGIONS, w.region[person]),
        "country": _pick(OVERSEAS_COUNTRIES + ("China",), np.where(w.country[person] < 0, 4, w.country[person])),
        "acquisition_channel": _pick(CHANNELS, w.channel[person]),
        "signup_date": _to_datetime(w.start, w.acc_signup),
        "birth_year": birth_year,
    })
    order = np.lexsort((np.arange(w.n_accounts), w.acc_signup))
    return frame.iloc[order].reset_index(drop=True)


def _products() -> pd.DataFrame:
    names, cats, prices, cost_share = zip(*PRODUCTS)
    prices = np.array(prices, dtype=float)
    return pd.DataFrame({
        "product_id": _ids("P", np.arange(1, len(PRODUCTS) + 1), 3),
        "product_name": pd.Series(names, dtype="str"),
        "category": _pick(CATEGORIES, np.array(cats)),
        "unit_price": prices,
        "unit_cost": np.round(prices * np.array(cost_share), 2),
    })


def _order_headers(world: _World, rng: np.random.Generator) -> None:
    """Order times per person: first order, the duplicate account's first order, Poisson orders."""
    w = world
    n = len(w.signup)
    alive_until = np.minimum(w.churn, w.end_t)
    persons, days = [], []
    first = np.flatnonzero((w.first_order >= 0) & (w.first_order < alive_until))
    persons.append(first)
    days.append(w.first_order[first])
    dup_first = w.dup_signup + rng.exponential(2.0, len(w.dup_person))
    ok = dup_first < alive_until[w.dup_person]
    persons.append(w.dup_person[ok])
    days.append(dup_first[ok])
    churner = np.isfinite(w.churn) & (w.churn < w.end_t)
    for m in range(len(w.edges) - 1):
        lo = np.maximum(w.edges[m], w.first_order)
        exposure = np.minimum(w.edges[m + 1], alive_until) - lo
        who = np.flatnonzero(exposure > 0)
        if not len(who):
            continue
        mid = lo[who] + exposure[who] / 2
        # A churner's purchase rate fades over the ~5 months before the last purchase.
        fade = np.where(churner[who], np.clip((w.churn[who] - mid) / 150.0, 0.12, 1.0), 1.0)
        count = rng.poisson(w.rate[who] * exposure[who] * SEASON[w.cal_month[m]] * fade)
        idx = np.repeat(who, count).astype(np.int32)
        persons.append(idx)
        days.append(lo[idx] + rng.random(len(idx)) * exposure[idx])
    person = np.concatenate(persons).astype(np.int32)
    is_dup_first = np.zeros(len(person), dtype=bool)
    is_dup_first[len(first):len(first) + int(ok.sum())] = True
    del persons, first
    t = np.floor(np.concatenate(days))
    del days
    t += _time_of_day(rng, len(person))
    keep = (t >= 0) & (t < w.end_t)
    person, t, is_dup_first = person[keep], t[keep], is_dup_first[keep]
    del keep
    # Account: the second account takes its own first order and ~45% of later orders.
    dup_account = w.dup_of[person]
    later = dup_account >= 0
    later[later] = t[later] >= w.dup_signup[dup_account[later] - n]
    to_dup = is_dup_first | (later & (rng.random(len(person)) < 0.45))
    account = np.where(to_dup, dup_account, person).astype(np.int32)
    del dup_account, later, to_dup, is_dup_first
    order = np.argsort(t, kind="stable")
    w.h_person, w.h_account, w.h_t = person[order], account[order], t[order]
    del person, account, t, order
    h = len(w.h_t)
    ent = w.is_ent[w.h_person]
    trend = w.h_t / w.end_t
    p_app = 0.10 + 0.30 * trend + np.where(ent, -0.05, 0.05)
    p_offline = np.where(ent, 0.45 - 0.15 * trend, 0.20 - 0.10 * trend)
    u = rng.random(h)
    w.h_channel = np.where(u < p_app, 2, np.where(u < p_app + p_offline, 1, 0)).astype(np.int8)
    del p_app, p_offline, trend
    u = rng.random(h)
    w.h_status = np.where(u < 0.95, 0, np.where(u < 0.98, 1, 2)).astype(np.int8)
    w.h_lines = (1 + np.minimum(rng.poisson(np.where(ent, 0.85, 0.4)), 7)).astype(np.int8)


def _order_lines(world: _World, rng: np.random.Generator, products: pd.DataFrame) -> None:
    """Expand order headers into lines: categories by affinity, products, quantities, amounts."""
    w = world
    h = len(w.h_t)
    header = np.repeat(np.arange(h, dtype=np.int32), w.h_lines)
    starts = np.cumsum(w.h_lines, dtype=np.int64) - w.h_lines
    line_no = (np.arange(len(header)) - starts[header] + 1).astype(np.int16)
    person = w.h_person[header]
    # First line: the customer's favourite category or one drawn by type and region; further
    # lines: categories that go with the first line's category (the association rules).
    first_cat = _draw_rows(rng, _first_category_rows(), _category_row(w)[w.h_person]).astype(np.int8)
    first_cat = np.where(rng.random(h) < 0.4, w.favourite[w.h_person], first_cat).astype(np.int8)
    anchor = first_cat[header]
    category = np.where(line_no == 1, anchor, _draw_rows(rng, AFFINITY, anchor)).astype(np.int8)
    del anchor, first_cat, starts
    # Product within the category: popularity falls with its position in the list.
    cat_of_product = np.array([p[1] for p in PRODUCTS])
    width = max(np.bincount(cat_of_product))
    popularity = np.zeros((len(CATEGORIES), width))
    product_at = np.zeros((len(CATEGORIES), width), dtype=np.int16)
    for c in range(len(CATEGORIES)):
        members = np.flatnonzero(cat_of_product == c)
        popularity[c, : len(members)] = 1.0 / (1.0 + 0.35 * np.arange(len(members)))
        product_at[c, : len(members)] = members
    product = product_at[category, _draw_rows(rng, popularity, category)]
    # Quantity: enterprises buy more units (by company size), valuable customers more again.
    ent = w.is_ent[person]
    size_mu = np.array([5.0, 2.0, 0.8])[np.maximum(w.size[person], 0)]
    size_mu *= w.value[person] ** 0.3
    cheap = CHEAP_CATEGORIES[category]
    del category
    mu = np.where(ent, np.where(cheap, 1.0, 0.2) * size_mu, np.where(cheap, 0.4, 0.05))
    del size_mu, cheap
    quantity = (1 + rng.poisson(mu)).astype(np.int32)
    del mu
    discount_rows = np.array([[0.80, 0.12, 0.08, 0.0], [0.35, 0.35, 0.2, 0.1]])
    discount = np.array([0.0, 0.05, 0.10, 0.15])[_draw_rows(rng, discount_rows, ent)]
    discount += np.where(ent & (w.size[person] == 0), 0.05, 0.0)
    amount = quantity * products["unit_price"].to_numpy()[product]
    amount *= 1.0 - discount
    del discount, ent
    w.l_header, w.l_line, w.l_product, w.l_quantity = header, line_no, product, quantity
    w.l_amount = np.round(amount, 2)
    w.l_t = w.h_t[header]
    w.l_account, w.l_person = w.h_account[header], person
    w.l_purchase = w.h_status[header] == 0


def _orders_frame(world: _World, rng: np.random.Generator, products: pd.DataFrame) -> pd.DataFrame:
    """Order lines with returns, orphans and the data-entry quirks."""
    w = world
    n_lines = len(w.l_t)
    h = len(w.h_t)
    # Returns (~1% of lines): a later credit line for a product the customer bought.
    candidates = np.flatnonzero(w.l_purchase)
    n_ret = _at_least(0.01 * n_lines, 3, len(candidates))
    ret = np.sort(rng.choice(candidates, n_ret, replace=False))
    del candidates
    ret_t = np.floor(w.l_t[ret] + rng.uniform(3, 30, n_ret)) + _time_of_day(rng, n_ret)
    ok = ret_t < w.end_t
    if ok.sum() < 3:  # keep some returns even at the very end of the history
        ret_t = np.minimum(ret_t, w.end_t - 1e-4)
        ok[:] = True
    ret, ret_t = ret[ok], ret_t[ok]
    full = rng.random(len(ret)) < 0.7
    ret_qty = np.where(full, w.l_quantity[ret], np.minimum(w.l_quantity[ret], 1))
    ret_amount = -np.round(w.l_amount[ret] * ret_qty / w.l_quantity[ret], 2)
    # Orphans (~0.1% of lines): orders copied onto account ids that are not in customers.csv.
    n_orph_orders = _at_least(0.001 * h, 2, h)
    orph_headers = np.sort(rng.choice(h, n_orph_orders, replace=False))
    n_orph_ids = max(2, n_orph_orders // 3)
    orph_ids = np.concatenate([
        _ids("C", w.next_number[True] + 200 + np.arange(n_orph_ids // 2), 7).to_numpy(),
        _ids("W", w.next_number[False] + 200 + np.arange(n_orph_ids - n_orph_ids // 2), 7).to_numpy(),
    ])
    orph_account = (w.n_accounts + rng.integers(0, n_orph_ids, n_orph_orders)).astype(np.int32)
    orph_t = np.clip(w.h_t[orph_headers] + rng.uniform(-20, 20, n_orph_orders), 0, w.end_t - 1e-4)
    orph_lines = np.flatnonzero(np.isin(w.l_header, orph_headers))
    orph_pos = np.searchsorted(orph_headers, w.l_header[orph_lines])

    # Assemble base lines, return lines (an order each) and orphan copies in time order; one
    # column at a time to keep the peak memory low.
    key = np.concatenate([w.l_header, h + np.arange(len(ret)), h + len(ret) + orph_pos]).astype(np.int32)
    t = np.concatenate([w.l_t, ret_t, orph_t[orph_pos]])
    line = np.concatenate([w.l_line, np.ones(len(ret), dtype=np.int16), w.l_line[orph_lines]])
    order = np.lexsort((line, key, t))

    def assemble(base: np.ndarray, returns: np.ndarray, orphans: np.ndarray) -> np.ndarray:
        return np.concatenate([base, returns.astype(base.dtype), orphans])[order]

    t, key, line = t[order], key[order], line[order]
    account = assemble(w.l_account, w.l_account[ret], orph_account[orph_pos])
    product = assemble(w.l_product, w.l_product[ret], w.l_product[orph_lines])
    quantity = assemble(w.l_quantity, -ret_qty, w.l_quantity[orph_lines])
    amount = assemble(w.l_amount, ret_amount, w.l_amount[orph_lines])
    channel = assemble(w.h_channel[w.l_header], w.h_channel[w.l_header[ret]], w.h_channel[w.l_header[orph_lines]])
    status = assemble(w.h_status[w.l_header], np.zeros(len(ret), dtype=np.int8), w.h_status[w.l_header[orph_lines]])
    is_return = assemble(np.zeros(n_lines, bool), np.ones(len(ret), bool), np.zeros(len(orph_lines), bool))
    region = assemble(w.region[w.l_person], w.region[w.l_person[ret]], w.region[w.l_person[orph_lines]])
    country = np.where(w.country < 0, len(OVERSEAS_COUNTRIES), w.country).astype(np.int8)
    country = assemble(country[w.l_person], country[w.l_person[ret]], country[w.l_person[orph_lines]])
    del order
    new_order = np.ones(len(key), dtype=bool)
    new_order[1:] = key[1:] != key[:-1]
    del key
    order_number = np.cumsum(new_order, dtype=np.int64) + 100_000

    # Errors: zero or negative amounts on ~0.2% of completed non-return lines.
    plain = np.flatnonzero((status == 0) & ~is_return & (account < w.n_accounts))
    n_bad = _at_least(0.002 * len(t), 3, len(plain))
    bad = rng.choice(plain, n_bad, replace=False)
    del plain
    amount[bad] = np.where(rng.random(n_bad) < 0.7, 0.0, -amount[bad])
    amount += 0.0  # no negative zero
    # Future dates: the end year typed with swapped digits on ~0.05% of orders.
    end_year_start = (pd.Timestamp(w.end_day.year, 1, 1) - w.start).days
    typo_orders = order_number[new_order & (t >= end_year_start) & ~is_return]
    del new_order
    n_typo = _at_least(0.0005 * (order_number[-1] - 100_000), 2, len(typo_orders))
    typo = np.flatnonzero(np.isin(order_number, rng.choice(typo_orders, n_typo, replace=False)))
    stamps = _to_datetime(w.start, t)
    del t
    stamps[typo] = _retype_year(stamps[typo])
    # Exact duplicate lines from the sync (~1%), repeated right after the original.
    repeat = 1 + (rng.random(len(stamps)) < 0.01).astype(np.int8)
    repeat[rng.choice(len(stamps), 2, replace=False)] = 2
    rows = np.repeat(np.arange(len(stamps), dtype=np.int64), repeat)
    del repeat
    all_ids = pa.concat_arrays([w.acc_ids, pa.array(orph_ids, type=pa.string())])
    product_ids = pa.array(products["product_id"].to_numpy(), type=pa.string())
    prices = products["unit_price"].to_numpy()
    columns = {}
    columns["order_id"] = _ids("O", order_number[rows], 9)
    del order_number
    columns["line_id"] = line[rows].astype(np.int64)
    del line
    columns["customer_id"] = _pick(all_ids, account[rows])
    del account
    columns["order_date"] = stamps[rows]
    del stamps
    columns["product_id"] = _pick(product_ids, product[rows])
    columns["quantity"] = quantity[rows].astype(float)  # canonical kind: float
    del quantity
    columns["unit_price"] = prices[product[rows]]
    del product
    columns["amount"] = amount[rows]
    del amount
    columns["channel"] = _pick(ORDER_CHANNELS, channel[rows])
    columns["status"] = _pick(ORDER_STATUSES, status[rows])
    columns["is_return"] = is_return[rows]
    columns["region"] = _pick(REGIONS, region[rows])
    columns["country"] = _pick(OVERSEAS_COUNTRIES + ("China",), country[rows])
    return pd.DataFrame(columns, copy=False)


def _complaint_window(w: _World, person: np.ndarray, t: np.ndarray, days: float = 150) -> np.ndarray:
    """True where ``t`` lies in the ``days`` before the person's churn."""
    until = w.churn[person] - t
    return (w.churn[person] < w.end_t) & (until >= 0) & (until <= days)


def _comments(rng: np.random.Generator, sentiment: np.ndarray, theme: np.ndarray,
              chinese: np.ndarray) -> np.ndarray:
    """One or two sentences per row from the templates (vectorised over template groups)."""
    n = len(sentiment)
    out = np.empty(n, dtype=object)
    second_theme = np.where(rng.random(n) < 0.3, rng.integers(0, len(THEMES), n), -1)
    for s in TEXTS:
        for lang in TEXTS[s]:
            for th, sentences in TEXTS[s][lang].items():
                mask = (sentiment == s) & (chinese.astype(int) == lang) & (theme == th)
                if mask.any():
                    out[mask] = np.array(sentences, dtype=object)[rng.integers(0, len(sentences), mask.sum())]
    for s in TEXTS:
        for lang in TEXTS[s]:
            for th, sentences in TEXTS[s][lang].items():
                mask = (sentiment == s) & (chinese.astype(int) == lang) & (second_theme == th) & (theme != th)
                if mask.any():
                    extra = np.array(sentences, dtype=object)[rng.integers(0, len(sentences), mask.sum())]
                    out[mask] = out[mask] + np.where(lang == 1, "", " ") + extra
    return out


def _ticket_tones(text_rng: np.random.Generator, is_complaint: np.ndarray, handled_well: np.ndarray) -> np.ndarray:
    """Tone of each ticket's comment (0 negative, 1 neutral, 2 positive), drawn from
    :data:`TICKET_TONE_WEIGHTS`: how the ticket was handled moves its tone, its type does not fix it."""
    row = np.where(is_complaint, np.where(handled_well, 0, 1), np.where(handled_well, 2, 3))
    return _draw_rows(text_rng, TICKET_TONE_WEIGHTS, row)


def _vary_tone(text_rng: np.random.Generator, comment: np.ndarray, is_complaint: np.ndarray, tone: np.ndarray,
               theme: np.ndarray, chinese: np.ndarray) -> np.ndarray:
    """``comment`` (in the usual tone of each ticket's type) replaced by a sentence of
    :data:`TICKET_TEXTS` on the same theme and in the same language where ``tone`` differs."""
    out = comment.copy()
    kind = np.where(is_complaint, 0, 1)
    for k, tones in TICKET_TEXTS.items():
        for s, languages in tones.items():
            for lang, themes in languages.items():
                for th, sentences in themes.items():
                    mask = (kind == k) & (tone == s) & (chinese.astype(int) == lang) & (theme == th)
                    if mask.any():
                        out[mask] = np.array(sentences, dtype=object)[text_rng.integers(0, len(sentences), mask.sum())]
    return out


def _tickets_frame(world: _World, rng: np.random.Generator, products: pd.DataFrame,
                   text_rng: np.random.Generator) -> pd.DataFrame:
    """Complaints and consultations arising from purchase lines, with handling times and text.

    ``rng`` draws everything but the tone of the comments, which ``text_rng`` draws, so that the
    tone can change without changing any other column."""
    w = world
    person, t, product = w.l_person, w.l_t, w.l_product
    pre_churn = _complaint_window(w, person, t)
    faulty = np.isin(products["product_name"].to_numpy(), FAULTY_PRODUCTS)[product]
    latest_q = Quarter.containing(w.end_day)
    latest_start = (latest_q.start - w.start).days
    south_recent = (w.region[person] == SOUTH_CHINA) & (t >= latest_start - 20)
    p_complaint = 0.018 * w.complainer[person] * np.where(faulty, 4.0, 1.0) * np.where(pre_churn, 3.0, 1.0) \
        * np.where(w.is_ent[person], 1.2, 1.0) * np.where(south_recent, 2.0, 1.0) * w.l_purchase
    complaint = np.flatnonzero(rng.random(len(t)) < p_complaint)
    soft_training = np.isin(np.array([p[1] for p in PRODUCTS])[product], [0, 5, 6])
    p_consult = 0.03 * np.where(soft_training, 1.8, 1.0) * np.where(w.is_ent[person], 1.5, 1.0)
    consult = np.flatnonzero(rng.random(len(t)) < p_consult)
    src = np.concatenate([complaint, consult])
    is_complaint = np.concatenate([np.ones(len(complaint), bool), np.zeros(len(consult), bool)])
    n = len(src)
    tp = person[src]
    delay = np.where(is_complaint, rng.gamma(2.0, 4.0, n), np.where(rng.random(n) < 0.5, -rng.uniform(0, 10, n),
                                                                     rng.uniform(0, 20, n)))
    created = t[src] + delay
    keep = (created >= 0) & (created < w.end_t)
    src, is_complaint, tp, created = src[keep], is_complaint[keep], tp[keep], created[keep]
    n = len(src)
    created = np.floor(created) + _time_of_day(rng, n)
    created = np.minimum(created, w.end_t - 1e-4)
    type_row = np.where(faulty[src], 1, np.where(south_recent[src], 2, 0))
    ctype = np.where(is_complaint, _draw_rows(rng, COMPLAINT_TYPE_WEIGHTS, type_row), -1)
    dept_for_type = np.array([0, 1, 2, 4, 3])
    department = np.where(is_complaint, dept_for_type[np.maximum(ctype, 0)], _draw(rng, [0.15, 0, 0, 0.35, 0.50], n))
    noise = rng.random(n) < 0.08
    department = np.where(noise, rng.integers(0, len(DEPARTMENTS), n), department)
    channel = _draw_rows(rng, TICKET_CHANNEL_WEIGHTS, w.is_ent[tp].astype(int))
    first_hours = FIRST_RESPONSE_MEDIAN_HOURS[channel] * rng.lognormal(0, 0.8, n) \
        * np.where(department == 1, 1.8, 1.0)
    resolve_hours = np.where(is_complaint, RESOLUTION_MEDIAN_HOURS[np.maximum(ctype, 0)], 2.0) \
        * rng.lognormal(0, 0.9, n) * np.where(south_recent[src] & (ctype == 1), 2.0, 1.0)
    first_at = created + first_hours / 24.0
    resolved_at = first_at + resolve_hours / 24.0
    stuck = rng.random(n) < np.where(is_complaint, 0.015, 0.003)
    resolved_at = np.where(stuck | (resolved_at >= w.end_t), np.nan, resolved_at)
    first_at = np.where(first_at >= w.end_t, np.nan, first_at)
    p_reopen = np.where(is_complaint, np.where(np.isin(ctype, [0, 4]), 0.12, 0.06), 0.01)
    reopened = np.isfinite(resolved_at) & (rng.random(n) < p_reopen)
    # Comment: on the ticket's theme, first in its type's usual tone (complaints negative,
    # consultations neutral questions), then re-toned by ``text_rng``.
    consult_theme = _draw(rng, [0.3, 0.08, 0.15, 0.2, 0.05, 0.17, 0.05], n)
    theme = np.where(is_complaint, COMPLAINT_THEME[np.maximum(ctype, 0)], consult_theme)
    theme = np.where(is_complaint & (ctype == 4) & (rng.random(n) < 0.4), 5, theme)
    theme = np.where(is_complaint & (rng.random(n) < 0.12), 6, theme)
    chinese = rng.random(n) < w.zh_share[tp]
    comment = _comments(rng, np.where(is_complaint, 0, 1), theme, chinese)
    resolved_hours = (resolved_at - created) * 24.0
    answered_hours = (first_at - created) * 24.0
    handled_well = np.where(is_complaint, (resolved_hours <= 48) & ~reopened, answered_hours <= 4)
    tone = _ticket_tones(text_rng, is_complaint, handled_well)
    comment = _vary_tone(text_rng, comment, is_complaint, tone, theme, chinese)
    has_product = rng.random(n) < np.where(ctype == 2, 0.3, 0.9)
    names = products["product_name"].to_numpy().astype(object)[product[src]]
    prefix = np.where(chinese, "关于" + names + "：", "Re " + names + ": ")
    mention = has_product & (rng.random(n) < 0.25)
    comment = np.where(mention, prefix + comment, comment)
    # Store per-ticket facts for the surveys (complaints only, by person).
    w.c_person = tp[is_complaint]
    w.c_t = created[is_complaint]
    res_h = (resolved_at - created) * 24.0
    w.c_slow = (~np.isfinite(res_h) | (res_h > 96) | reopened)[is_complaint]
    stamps = _to_datetime(w.start, created)
    n_typo = _at_least(0.0005 * n, 2, n)
    end_year_start = (pd.Timestamp(w.end_day.year, 1, 1) - w.start).days
    in_end_year = np.flatnonzero(created >= end_year_start)
    typo = rng.choice(in_end_year, min(n_typo, len(in_end_year)), replace=False)
    stamps[typo] = _retype_year(stamps[typo])
    order = np.argsort(created, kind="stable")
    product_ids = pa.array(products["product_id"].to_numpy(), type=pa.string())
    frame = pd.DataFrame({
        "ticket_id": _ids("T", 10_000 + np.arange(n), 8),
        "customer_id": _pick(w.acc_ids, w.l_account[src][order]),
        "created_at": stamps[order],
        "ticket_type": np.where(is_complaint[order], "complaint", "consultation"),
        "first_response_at": _to_datetime(w.start, first_at[order]),
        "resolved_at": _to_datetime(w.start, resolved_at[order]),
        "complaint_type": _pick(COMPLAINT_TYPES, np.maximum(ctype[order], 0), ctype[order] < 0),
        "product_id": _pick(product_ids, product[src][order], ~has_product[order]),
        "department": _pick(DEPARTMENTS, department[order]),
        "channel": _pick(TICKET_CHANNELS, channel[order]),
        "reopened": reopened[order],
        "comment": comment[order],
    })
    frame["ticket_type"] = frame["ticket_type"].astype("str")
    frame["comment"] = frame["comment"].astype("str")
    return frame


def _count_before(key_person: np.ndarray, key_t: np.ndarray, person: np.ndarray, t: np.ndarray,
                  window: float) -> np.ndarray:
    """How many (person, time) events fall in ``(t - window, t]`` for each query row."""
    if not len(key_person):
        return np.zeros(len(person), dtype=np.int64)
    scale = 1e5
    keys = np.sort(key_person * scale + key_t)
    query = person * scale + t
    return np.searchsorted(keys, query, side="right") - np.searchsorted(keys, query - window, side="right")


def _surveys_frame(world: _World, rng: np.random.Generator) -> pd.DataFrame:
    """Post-purchase surveys of 20-30% of each quarter's active customers."""
    w = world
    latest_q = Quarter.containing(w.end_day)
    first_q = Quarter.containing(w.start)
    quarters = []
    q = first_q
    while q <= latest_q:
        quarters.append(q)
        q = q.shift(1)
    src_lines, q_index = [], []
    purchase = np.flatnonzero(w.l_purchase)
    for i, q in enumerate(quarters):
        lo = np.searchsorted(w.l_t[purchase], (q.start - w.start).days)
        hi = np.searchsorted(w.l_t[purchase], (q.shift(1).start - w.start).days)
        lines = purchase[lo:hi][rng.permutation(hi - lo)]
        _, first = np.unique(w.l_account[lines], return_index=True)
        lines = lines[first]
        rate = np.where(w.is_ent[w.l_person[lines]], 0.30, 0.22)
        src_lines.append(lines[rng.random(len(lines)) < rate])
        q_index.append(np.full(len(src_lines[-1]), i))
    src = np.concatenate(src_lines)
    qi = np.concatenate(q_index)
    person = w.l_person[src]
    t = np.floor(w.l_t[src] + rng.uniform(1, 14, len(src)))
    keep = t < w.end_t
    src, qi, person, t = src[keep], qi[keep], person[keep], t[keep]
    n = len(src)
    complaints = np.minimum(_count_before(w.c_person, w.c_t, person, t, 180), 3)
    slow = _count_before(w.c_person[w.c_slow], w.c_t[w.c_slow], person, t, 180) > 0
    leaving = _complaint_window(w, person, t, days=180)
    south = w.region[person] == SOUTH_CHINA
    latest = t >= (latest_q.start - w.start).days
    latent = 8.5 + 0.45 * np.log(w.value[person]) - 1.3 * complaints - 0.9 * slow - 2.0 * leaving \
        - 0.45 * south - 1.3 * (south & latest) + 0.25 * (qi / max(len(quarters) - 1, 1)) \
        - 0.3 * w.is_ent[person] + 0.8 * w.mood[person] + rng.normal(0, 1.25, n)
    nps = np.clip(np.round(latent), 0, 10)
    csat = np.clip(np.round(1 + 4 * (latent - 1) / 9 + rng.normal(0, 0.45, n)), 1, 5)
    asked = _draw(rng, [0.70, 0.18, 0.12], n)  # both, NPS only, CSAT only
    nps = np.where(asked == 2, np.nan, nps)
    csat = np.where(asked == 1, np.nan, csat)
    score = np.where(np.isnan(nps), (csat - 1) * 2.5, nps)
    sentiment = np.where(score >= 9, 2, np.where(score >= 7, 1, 0))
    theme_rows = np.array([
        [0.20, 0.22, 0.14, 0.14, 0.14, 0.10, 0.06],  # negative, nothing special
        [0.10, 0.30, 0.12, 0.10, 0.26, 0.04, 0.08],  # negative after complaints
        [0.08, 0.10, 0.55, 0.07, 0.12, 0.03, 0.05],  # negative in South China (delivery)
        [0.18, 0.20, 0.15, 0.15, 0.12, 0.12, 0.08],  # neutral
        [0.16, 0.24, 0.14, 0.14, 0.12, 0.06, 0.14],  # positive
    ])
    row = np.where(sentiment == 2, 4, np.where(sentiment == 1, 3, np.where(south, 2, np.where(complaints > 0, 1, 0))))
    theme = _draw_rows(rng, theme_rows, row)
    chinese = rng.random(n) < w.zh_share[person]
    comment = _comments(rng, sentiment, theme, chinese)
    comment = np.where(rng.random(n) < 0.35, None, comment)
    order = np.argsort(t, kind="stable")
    frame = pd.DataFrame({
        "survey_id": _ids("SV", 1 + np.arange(n), 8),
        "customer_id": _pick(w.acc_ids, w.l_account[src][order]),
        "response_date": _to_datetime(w.start, t[order]),
        "nps_score": nps[order],
        "csat_score": csat[order],
        "comment": pd.Series(comment[order], dtype="str"),
    })
    return frame


def _events_frame(world: _World, rng: np.random.Generator) -> pd.DataFrame:
    """Sessions in the last four quarters: one around each tracked web / app order, plus browsing."""
    w = world
    window_start = (Quarter.containing(w.end_day).shift(-3).start - w.start).days
    # Purchase sessions: web / app orders of customers who allow tracking (~60% of them).
    in_window = np.flatnonzero((w.h_t >= window_start) & (w.h_channel != 1) & (rng.random(len(w.h_t)) < 0.6))
    p_acc, p_t = w.h_account[in_window], w.h_t[in_window]
    p_channel = (w.h_channel[in_window] == 2).astype(np.int8)  # 0 web, 1 app
    del in_window
    # Browsing sessions per alive account and quarter (rate grows with purchase rate).
    b_acc, b_t, b_channel = [], [], []
    acc_person = w.acc_person
    acc_from = np.maximum(w.acc_signup, w.first_order[acc_person])
    acc_until = np.minimum(w.churn[acc_person], w.end_t)
    rel_rate = (w.rate / np.mean(w.rate))[acc_person] ** 0.5
    for q in Quarter.containing(w.end_day).trailing(4):
        qs, qe = (q.start - w.start).days, min((q.shift(1).start - w.start).days, w.end_t)
        lo, hi = np.maximum(acc_from, qs), np.minimum(acc_until, qe)
        span = hi - lo
        who = np.flatnonzero(span > 0)
        idx = np.repeat(who, rng.poisson(2.0 * rel_rate[who] * span[who] / 91.0)).astype(np.int32)
        b_acc.append(idx)
        b_t.append(lo[idx] + rng.random(len(idx)) * span[idx])
        p_app = np.where(w.is_ent[acc_person[idx]], 0.18, 0.32) + 0.10 * (qs - window_start) / 365.0
        b_channel.append((rng.random(len(idx)) < p_app).astype(np.int8))
    b_t = np.concatenate(b_t)
    b_t = np.floor(b_t) + _time_of_day(rng, len(b_t))
    n_p = len(p_acc)
    acc = np.concatenate([p_acc] + b_acc)
    channel = np.concatenate([p_channel] + b_channel)
    del b_acc, b_channel
    n = len(acc)
    purchase = np.arange(n) < n_p
    # Funnel: purchase sessions go all the way; browsing drops off (app converts better).
    views = np.where(purchase, 1 + rng.poisson(0.8, n),
                     (rng.random(n) < np.where(channel == 1, 0.70, 0.52)) * (1 + rng.poisson(0.9, n))).astype(np.int16)
    cart = purchase | ((views > 0) & (rng.random(n) < np.where(channel == 1, 0.36, 0.22)))
    features = rng.poisson(np.where(channel == 1, 0.55, 0.35), n).astype(np.int16)
    per_session = 1 + views + features + cart + purchase
    session = np.repeat(np.arange(n, dtype=np.int32), per_session)
    first = np.cumsum(per_session, dtype=np.int64) - per_session
    pos = (np.arange(len(session), dtype=np.int64) - first[session]).astype(np.int16)
    # Event order in a session: visit, product views, feature use, add to cart, purchase.
    v = views[session]
    vf = v + features[session]
    kind = np.full(len(session), 3, dtype=np.int8)
    kind[(pos == vf + 1) & cart[session]] = 2
    kind[pos <= vf] = 4
    kind[pos <= v] = 1
    kind[pos == 0] = 0
    del v, vf, views, features, cart
    t = (2.0 + rng.exponential(45.0, len(session))) / DAY  # >= 2 s apart: no accidental duplicates
    t[first] = 0.0
    t = np.cumsum(t, out=t)
    t -= np.repeat(t[first], per_session)
    duration = t[first + per_session - 1]
    start = np.concatenate([p_t - duration[:n_p] - 60.0 / DAY, b_t])  # purchase a minute before the order
    del duration, first, p_t, b_t
    t += np.repeat(start, per_session)
    feature = np.full(len(session), -1, dtype=np.int8)
    is_feature = np.flatnonzero(kind == 4)
    feature[is_feature] = _draw_rows(rng, FEATURE_WEIGHTS, channel[session[is_feature]])
    del is_feature
    kept_session = start >= window_start
    session_number = np.zeros(n, dtype=np.int64)
    by_start = np.argsort(start, kind="stable")
    by_start = by_start[kept_session[by_start]]
    session_number[by_start] = 1 + np.arange(len(by_start))
    keep = np.flatnonzero(kept_session[session] & (t < w.end_t))
    order = keep[np.argsort(t[keep], kind="stable")]
    del keep
    session = session[order]
    columns = {}
    columns["customer_id"] = _pick(w.acc_ids, acc[session])
    columns["event_time"] = _to_datetime(w.start, t[order])
    del t
    columns["event_type"] = _pick(EVENT_TYPES, kind[order])
    columns["session_id"] = _ids("SS", session_number[session], 9)
    f = feature[order]
    columns["feature"] = _pick(FEATURES, np.maximum(f, 0), f < 0)
    columns["channel"] = _pick(("web", "app"), channel[session])
    return pd.DataFrame(columns, copy=False)


def _campaigns_frame(world: _World, rng: np.random.Generator) -> pd.DataFrame:
    """Monthly spend and leads per acquisition channel (spend per acquired person = CAC)."""
    w = world
    n_months = len(w.edges) - 1
    signup_month = np.searchsorted(w.edges, w.signup, side="right") - 1
    inside = (w.signup >= 0) & (signup_month < n_months)
    actual = np.zeros((n_months, len(CHANNELS)))
    np.add.at(actual, (signup_month[inside], w.channel[inside]), 1)
    share = np.bincount(w.channel, minlength=len(CHANNELS)) / len(w.channel)
    expected = inside.sum() * w.month_weight[:, None] * share[None, :]
    acquired = 0.5 * actual + 0.5 * expected
    spend = np.round(acquired * CHANNEL_CAC[None, :] * rng.lognormal(0, 0.12, acquired.shape), 2)
    leads = np.round(acquired / CHANNEL_LEAD_CONVERSION[None, :] * rng.lognormal(0, 0.15, acquired.shape))
    month_starts = np.array([(w.start + pd.Timedelta(days=float(d))).replace(day=1) for d in w.edges[:-1]],
                            dtype="datetime64[ns]")
    return pd.DataFrame({
        "month": np.repeat(month_starts, len(CHANNELS)),
        "channel": _pick(CHANNELS, np.tile(np.arange(len(CHANNELS)), n_months)),
        "spend": spend.ravel(),
        "leads": leads.ravel(),
    })


def _contact_sample(people: pd.DataFrame, rng: np.random.Generator, share: float = 0.03) -> pd.DataFrame:
    """The name, phone and e-mail of a few accounts, who will write them into their comments."""
    chosen = rng.random(len(people)) < share
    return people.loc[chosen, ["customer_id", "name", "phone", "email"]].dropna().set_index("customer_id")


def _with_contact_details(frame: pd.DataFrame, contacts: pd.DataFrame, rng: np.random.Generator,
                          share: float = 0.5) -> pd.DataFrame:
    """About ``share`` of the comments of the ``contacts`` accounts end with the writer's own
    name and phone number, or e-mail address, in the comment's language: personal data the
    preparation must mask before anything is stored."""
    known = frame["customer_id"].isin(contacts.index).to_numpy() & frame["comment"].notna().to_numpy()
    rows = np.flatnonzero(known & (rng.random(len(frame)) < share))
    if not len(rows):
        return frame
    who = contacts.reindex(frame["customer_id"].to_numpy()[rows])
    comment = frame["comment"].to_numpy(dtype=object)[rows].astype(str)
    chinese = pd.Series(comment).str.contains(r"[\u4e00-\u9fff]", regex=True).to_numpy()
    by_phone = rng.random(len(rows)) < 0.6
    name, phone, email = (who[c].to_numpy(dtype=object).astype(str) for c in ("name", "phone", "email"))
    chinese_text = np.where(by_phone, "我是" + name + "，请回电 " + phone + "。", "我是" + name + "，邮箱 " + email + "。")
    english_text = np.where(by_phone, " This is " + name + ", call me back on " + phone + ".",
                            " This is " + name + ", write to " + email + ".")
    frame = frame.copy()
    values = frame["comment"].to_numpy(dtype=object).copy()
    values[rows] = comment + np.where(chinese, chinese_text, english_text)
    frame["comment"] = values
    return frame


def _canonical(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's columns in the canonical order of ``helpers.data.schema`` (and nothing else)."""
    missing = [c for c in SOURCES[name].names if c not in frame.columns]
    if missing:
        raise ValueError(f"demo {name} lacks canonical column(s) {missing}; update helpers.demo.generator")
    return frame[SOURCES[name].names]


def iter_sources(customers: int, seed: int, end: str = "2026-09-30") -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield ``(source name, frame)`` in :data:`SOURCE_ORDER`, each built when asked for.

    Lets a caller write and drop each frame before the next one is built (lower peak memory).
    """
    if not isinstance(customers, (int, np.integer)) or customers < 50:
        raise ValueError(f"customers must be an integer of at least 50, got {customers!r}")
    if customers > 9_000_000:
        raise ValueError(f"customers must be at most 9,000,000 (7-digit account ids), got {customers:,}")
    try:
        end_day = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"end must be a date such as 2026-09-30, got {end!r}") from exc
    if pd.isna(end_day) or not 2000 <= end_day.year <= 2200:
        raise ValueError(f"end must be a date between the years 2000 and 2200, got {end!r}")
    # Child seeds depend only on their position: an added stream leaves the others' draws as they were.
    # Stream 11 draws the tone of ticket comments.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(12)]
    w = _World()
    w.start, w.end_day, w.edges, w.cal_month = _calendar(end)
    w.end_t = float(w.edges[-1])
    w.end_year = w.end_day.year
    n_people = int(round(customers / 1.05))
    _people(w, streams[0], n_people)
    _accounts(w, streams[1], int(customers))
    products = _products()
    yield "products", _canonical("products", products)
    people = _canonical("customers", _personal(w, streams[2]))
    contacts = _contact_sample(people, streams[10])
    yield "customers", people
    del people
    _order_headers(w, streams[3])
    _order_lines(w, streams[4], products)
    yield "orders", _canonical("orders", _orders_frame(w, streams[5], products))
    tickets = _tickets_frame(w, streams[6], products, streams[11])
    yield "tickets", _canonical("tickets", _with_contact_details(tickets, contacts, streams[10]))
    del tickets
    yield "surveys", _canonical("surveys", _with_contact_details(_surveys_frame(w, streams[7]), contacts, streams[10]))
    yield "events", _canonical("events", _events_frame(w, streams[8]))
    yield "campaigns", _canonical("campaigns", _campaigns_frame(w, streams[9]))


def generate(customers: int, seed: int, end: str = "2026-09-30") -> dict[str, pd.DataFrame]:
    """All seven demo sources as frames with exactly the canonical columns of ``helpers.data.schema``.

    Parameters
    ----------
    customers : number of customer accounts (rows of ``customers``; ~5% are second accounts
        of the same person in the other system).
    seed : seed of ``numpy.random.default_rng``; the same arguments give identical frames.
    end : last day of the history (3 years and 3 quarters, ending on this day).
    """
    return dict(iter_sources(customers, seed, end))


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
DATE_ONLY = {"signup_date", "response_date", "month"}
WHOLE_NUMBER_COLUMNS = {"nps_score", "csat_score", "leads"}


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _needs_quotes(series: pd.Series) -> bool:
    """Any value with a comma, quote or line break (a scan of the column's text bytes)."""
    text = pa.array(series, from_pandas=True).cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if len(text) == 0:
        return False
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    if text.buffers()[2] is None:
        return False
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(np.isin(data, np.frombuffer(b',"\r\n', dtype=np.uint8)).any())


def _csv_array(values: pd.Series, column: str) -> pa.Array:
    """One column ready for CSV: dates ``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``, booleans
    True / False, whole-number scores without ``.0``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        unit = "D" if column in DATE_ONLY else "s"
        return pa.array(values.to_numpy().astype(f"datetime64[{unit}]"), from_pandas=True)
    if pd.api.types.is_bool_dtype(values):
        return pc.if_else(pa.array(values.to_numpy(dtype=bool)), "True", "False")
    if column in WHOLE_NUMBER_COLUMNS and pd.api.types.is_float_dtype(values):
        whole = values.to_numpy(dtype=float, na_value=np.nan)
        return pa.array(np.where(np.isnan(whole), 0, np.round(whole)).astype(np.int64), mask=np.isnan(whole))
    return pa.array(values, from_pandas=True)


def _csv_text(values: pd.Series, column: str, quote: bool) -> pa.Array:
    """The column as CSV text, quoted only where needed (RFC 4180)."""
    text = _csv_array(values, column).cast(pa.string())
    if quote:
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(pc.match_substring_regex(text, '[,"\r\n]'), quoted, text)
    return text


def _write_csv(frame: pd.DataFrame, path: Path, batch_rows: int = 1_000_000) -> None:
    """Write ``frame`` as UTF-8 CSV with an unquoted header and minimal quoting.

    Tables without text to quote go through Arrow's CSV writer; the others are joined into
    lines by Arrow batch by batch and the text buffer is written as is.
    """
    quote = {c: _is_text(frame[c]) and _needs_quotes(frame[c]) for c in frame.columns}
    with open(path, "wb") as handle:
        handle.write((",".join(frame.columns) + "\n").encode("utf-8"))
        for first in range(0, len(frame), batch_rows):
            part = frame.iloc[first:first + batch_rows]
            if not any(quote.values()):
                table = pa.table({c: _csv_array(part[c], c) for c in frame.columns})
                pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False, quoting_style="none"))
                continue
            texts = [_csv_text(part[c], c, quote[c]) for c in frame.columns]
            lines = pc.binary_join_element_wise(*texts, ",", null_handling="replace", null_replacement="")
            lines = pc.binary_join_element_wise(lines, "", "\n").cast(pa.large_string())
            if isinstance(lines, pa.ChunkedArray):  # a frame edited after generation holds chunked columns
                lines = lines.combine_chunks()
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
            handle.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])


def write(frames: dict[str, pd.DataFrame], out_dir: str | Path) -> dict[str, Path]:
    """Write each frame as ``<out_dir>/<source>.csv``; returns the paths.

    Raises ``ValueError`` for an unknown source or a frame whose columns are not the canonical ones.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in frames.items():
        if name not in SOURCES:
            raise ValueError(f"unknown source {name!r}; expected one of {sorted(SOURCES)}")
        if list(frame.columns) != SOURCES[name].names:
            raise ValueError(f"{name} columns {list(frame.columns)} differ from the canonical {SOURCES[name].names}")
        paths[name] = out / f"{name}.csv"
        _write_csv(frame, paths[name])
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.demo.generator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5000, help="customer accounts (default 5000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--end", default="2026-09-30", help="last day of the history (default 2026-09-30)")
    parser.add_argument("--out", default="data/demo", help="output folder (default data/demo)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    try:
        sources = iter_sources(args.customers, args.seed, args.end)
        started = time.perf_counter()
        step = started
        for name, frame in sources:
            path = write({name: frame}, args.out)[name]
            now = time.perf_counter()
            if not args.quiet:
                print(f"{name:<10} {len(frame):>12,} rows  {now - step:6.1f} s  (total {now - started:6.1f} s)"
                      f"  -> {path}", file=sys.stderr, flush=True)
            step = now
            del frame
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
