"""Appendix A of T/SNISA 04002—2025 (风险评估表示例) as data.

Transcribed from the seed text in table order. Points are the printed upper bounds of
分数区间 (0-5 → 5). Known quirks of the printed table are kept, not "fixed":

* base: the two 应急管理 items are printed 0-5 each although 应急管理 is weighted 10 % (= 5
  points), so 内部安全管理 sums to 55 (header says 50) and the part to 105. The part score
  divides by 105, so all-yes is still exactly 100.
* ransomware: the items sum to 50 although the header says 100 分; part scores are
  normalised to 100 (§6.3.3 note 1), so only the relative points matter.
* ransomware 邮件管理 / 应急预案 sit under 内部安全管理 in Appendix A but under 外部安全防护 in
  Table 2; Appendix A is followed (its 50%/50% split only adds up that way).
* data security 数据处理 and 数据传输 carry the same printed text (数据导出…); kept verbatim,
  the topic tells them apart.
* base.im.04 asks whether work is outsourced; per Table 5 the answer records whether the
  requirement is met (outsourcing identified and governed), not the literal yes/no.
"""

from __future__ import annotations

from fractions import Fraction

from service.assessment.template import Category, Item, Part, PartInfo

IM = Category.INTERNAL_MANAGEMENT
EP = Category.EXTERNAL_PROTECTION

STANDARD = "T/SNISA 04002—2025"

PARTS: tuple[PartInfo, ...] = (
    PartInfo(Part.BASE, "基础评估项", "Baseline assessment"),
    PartInfo(Part.RANSOMWARE, "网络勒索风险场景", "Ransomware (cyber extortion) scenario"),
    PartInfo(Part.BUSINESS_INTERRUPTION, "营业中断风险场景", "Business interruption scenario"),
    PartInfo(Part.DATA_SECURITY, "数据安全风险场景", "Data security scenario"),
)

# (id, part, category, topic_zh, topic_en, text_zh, text_en, points)
_ROWS: tuple[tuple[str, Part, Category, str, str, str, str, str], ...] = (
    # ---- 基础评估项 / 内部安全管理 ----
    ("base.im.01", Part.BASE, IM, "网络安全策略与制度", "Cybersecurity policies and rules",
     "是否实施相应策略和流程以确保遵守网络安全法、行业法律法规或合同要求",
     "Are policies and procedures implemented to ensure compliance with the Cybersecurity "
     "Law, industry laws and regulations, and contractual requirements?", "5"),
    ("base.im.02", Part.BASE, IM, "网络安全组织机构", "Cybersecurity organisation",
     "是否设置主管信息安全管理工作的职能部门，并设立系统管理员、网络管理员、审计管理员等岗位和岗位职责",
     "Is there a functional department in charge of information-security management, with "
     "defined posts and duties such as system, network and audit administrators?", "5"),
    ("base.im.03", Part.BASE, IM, "等保建设", "Classified protection (MLPS) compliance",
     "是否按照系统定级组织制定系统安全防护建设方案，并定期组织开展系统的安全等级保护测评与整改工作",
     "Is a security protection plan drawn up according to each system's classified level, "
     "with regular classified-protection testing and remediation?", "10"),
    ("base.im.04", Part.BASE, IM, "外包商管理", "Outsourcer management",
     "是否将任一部分的网络、计算机系统开发或信息安全相关工作委托外包作业",
     "Is any part of the network, computer-system development or information-security "
     "work outsourced?", "2.5"),
    ("base.im.05", Part.BASE, IM, "外包商管理", "Outsourcer management",
     "是否建立了外包商信息安全管理策略（包括但不限于数据使用等管理规范、外包商遴选/管理方式及流程等）",
     "Is there an information-security policy for outsourcers (including data-use rules and "
     "how outsourcers are selected and managed)?", "2.5"),
    ("base.im.06", Part.BASE, IM, "供应链管理", "Supply-chain management",
     "是否有供应链安全管理制度，并对供应商开展安全调查",
     "Is there a supply-chain security policy, with security due diligence on suppliers?",
     "2.5"),
    ("base.im.07", Part.BASE, IM, "供应链管理", "Supply-chain management",
     "是否与选定的供应商签订相关协议，明确整个服务供应链各方需履行的网络安全相关义务，"
     "明确提供者的安全责任并作出必要安全承诺，由于供应商原因导致发生网络安全事件需承担相应赔偿责任",
     "Are agreements signed with selected suppliers that set every party's cybersecurity "
     "obligations and the provider's security commitments, and make the supplier liable for "
     "incidents it causes?", "2.5"),
    ("base.im.08", Part.BASE, IM, "安全巡检", "Security inspection",
     "是否建立对系统进行常态安全巡检的机制，定期进行安全配置检查和安全漏洞扫描，并督促整改和加固",
     "Is there routine security inspection of systems, with regular configuration checks and "
     "vulnerability scans followed up by remediation and hardening?", "5"),
    ("base.im.09", Part.BASE, IM, "程序备份", "Software backup",
     "是否备份了适用的驱动程序或应用程序安装文件（与备份，软件许可协议等一起存储），并定期监测备份功能性",
     "Are the applicable drivers and application installers backed up (stored with the "
     "backups and licence agreements), and are backups regularly tested?", "5"),
    ("base.im.10", Part.BASE, IM, "意识培训", "Awareness training",
     "是否每年至少对员工开展一次全员安全意识教育培训",
     "Do all staff receive security-awareness training at least once a year?", "5"),
    ("base.im.11", Part.BASE, IM, "应急管理", "Emergency management",
     "是否制定重要事件的应急预案，包括处理流程等内容",
     "Is there an emergency plan for major incidents, including handling procedures?", "5"),
    ("base.im.12", Part.BASE, IM, "应急管理", "Emergency management",
     "是否定期对员工进行应急预案演练",
     "Are staff regularly drilled on the emergency plan?", "5"),
    # ---- 基础评估项 / 外部安全防护 ----
    ("base.ep.01", Part.BASE, EP, "入侵防范", "Intrusion prevention",
     "是否关闭了非必要的系统服务和默认共享，且不存在非必要的高危端口（如 445、135、139 等）",
     "Are unnecessary system services and default shares disabled, with no unnecessary "
     "high-risk ports open (e.g. 445, 135, 139)?", "5"),
    ("base.ep.02", Part.BASE, EP, "入侵防范", "Intrusion prevention",
     "是否有补丁推送更新机制（计算机终端及所有服务器）",
     "Is there a patch distribution mechanism (for endpoints and all servers)?", "5"),
    ("base.ep.03", Part.BASE, EP, "恶意代码防范", "Malware protection",
     "是否计算机终端及所有服务器使用防毒保护及程序以防护及阻止病毒、计算机蠕虫、间谍程序及其它恶意程序",
     "Do endpoints and all servers run anti-malware protection that prevents and blocks "
     "viruses, worms, spyware and other malicious programs?", "5"),
    ("base.ep.04", Part.BASE, EP, "边界安全", "Perimeter security",
     "是否在重要网络区域与其他网络区域之间（如内外网）部署了网闸、防火墙和设备访问控制列表(ACL)等可靠的技术隔离手段",
     "Are reliable technical isolation measures (gatekeepers, firewalls, device ACLs) deployed "
     "between important network zones and other zones (e.g. internal and external networks)?",
     "5"),
    ("base.ep.05", Part.BASE, EP, "边界安全", "Perimeter security",
     "是否有独立的虚拟网段用于端到端的加密访问",
     "Is there a separate virtual network segment for end-to-end encrypted access?", "5"),
    ("base.ep.06", Part.BASE, EP, "安全审计", "Security audit",
     "是否启用安全审计功能，对应用系统所有用户操作进行审计",
     "Is security auditing enabled, covering all user operations in application systems?",
     "2.5"),
    ("base.ep.07", Part.BASE, EP, "安全审计", "Security audit",
     "是否定期备份审计日志",
     "Are audit logs backed up regularly?", "2.5"),
    ("base.ep.08", Part.BASE, EP, "身份访问控制", "Identity and access control",
     "是否通过堡垒机或防火墙、安全域等对终端接入范围进行限制",
     "Is endpoint access restricted through bastion hosts, firewalls or security domains?",
     "2.5"),
    ("base.ep.09", Part.BASE, EP, "身份访问控制", "Identity and access control",
     "员工账号是否有分类分级",
     "Are staff accounts classified and tiered?", "2.5"),
    ("base.ep.10", Part.BASE, EP, "邮件管理", "Email management",
     "是否在关键网络节点处部署邮件防护相关产品或技术措施，并配置防范策略",
     "Are email-protection products or technical measures deployed at key network nodes, "
     "with protection policies configured?", "5"),
    ("base.ep.11", Part.BASE, EP, "漏洞管理", "Vulnerability management",
     "是否对发现的安全漏洞及时进行修补或评估可能的影响后进行修补，确保漏洞补丁经过测试后才可使用",
     "Are discovered vulnerabilities patched promptly (or after assessing the impact), with "
     "patches tested before use?", "5"),
    ("base.ep.12", Part.BASE, EP, "数据保护", "Data protection",
     "是否根据数据的重要性和敏感程度对在信息系统及终端上存储的数据及其介质采取加密、备份等安全保护措施",
     "Are data and media stored on information systems and endpoints protected (encryption, "
     "backup) according to their importance and sensitivity?", "5"),
    # ---- 网络勒索风险场景 ----
    ("ransomware.im.01", Part.RANSOMWARE, IM, "管理制度", "Management rules",
     "是否建立了网络安全勒索情报的收集、处理、管理机制",
     "Is there a mechanism to collect, process and manage ransomware threat intelligence?",
     "5"),
    ("ransomware.im.02", Part.RANSOMWARE, IM, "意识培训", "Awareness training",
     "是否开展了网络勒索防范的专项培训（如网络钓鱼）",
     "Is dedicated ransomware-prevention training given (e.g. on phishing)?", "10"),
    ("ransomware.im.03", Part.RANSOMWARE, IM, "邮件管理", "Email management",
     "是否实施了基于域的邮件身份验证策略",
     "Is a domain-based email authentication policy enforced?", "5"),
    ("ransomware.im.04", Part.RANSOMWARE, IM, "应急预案", "Emergency plan",
     "是否制定了专门针对网络勒索场景的应急响应制度和流程",
     "Are there emergency-response rules and procedures specific to ransomware?", "5"),
    ("ransomware.ep.01", Part.RANSOMWARE, EP, "入侵防范", "Intrusion prevention",
     "是否安装了最新的防病毒和反恶意软件并定期更新",
     "Is up-to-date antivirus and anti-malware software installed and regularly updated?",
     "10"),
    ("ransomware.ep.02", Part.RANSOMWARE, EP, "网络分段", "Network segmentation",
     "是否采用了网络分段策略，以限制攻击的扩散",
     "Is network segmentation used to limit the spread of an attack?", "10"),
    ("ransomware.ep.03", Part.RANSOMWARE, EP, "监测预警", "Detection and alerting",
     "是否采取技术措施检测勒索软件及其他恶意软件",
     "Are technical measures in place to detect ransomware and other malware?", "5"),
    # ---- 营业中断风险场景 (安全管理 → internal_management) ----
    ("business_interruption.im.01", Part.BUSINESS_INTERRUPTION, IM, "供应链管理",
     "Supply-chain management",
     "是否评估供应链和第三方服务提供商的安全性及连续性计划",
     "Are the security and continuity plans of the supply chain and third-party service "
     "providers assessed?", "20"),
    ("business_interruption.im.02", Part.BUSINESS_INTERRUPTION, IM, "应急预案", "Emergency plan",
     "是否有针对服务器故障、业务系统故障、重要网络设备故障等场景导致重要业务连续性中断的专项应急预案",
     "Are there dedicated emergency plans for interruptions of critical business caused by "
     "server, business-system or key network-device failures?", "20"),
    ("business_interruption.ep.01", Part.BUSINESS_INTERRUPTION, EP, "物理安全", "Physical security",
     "是否设置冗余或并行的电力电缆线路为计算机系统供电",
     "Are computer systems powered through redundant or parallel power lines?", "30"),
    ("business_interruption.ep.02", Part.BUSINESS_INTERRUPTION, EP, "边界防护",
     "Perimeter protection",
     "是否提供关键边界防护设备的硬件冗余",
     "Is there hardware redundancy for critical perimeter-protection devices?", "20"),
    ("business_interruption.ep.03", Part.BUSINESS_INTERRUPTION, EP, "边界防护",
     "Perimeter protection",
     "是否存在可以直接中断关键业务会话的特征匹配规则",
     "Are there signature-matching rules that could directly cut off critical business "
     "sessions?", "10"),
    # ---- 数据安全风险场景 ----
    ("data_security.im.01", Part.DATA_SECURITY, IM, "管理制度", "Management rules",
     "是否有健全的数据安全管理办法和规范",
     "Are there complete data-security management rules and standards?", "5"),
    ("data_security.im.02", Part.DATA_SECURITY, IM, "定期评估", "Periodic assessment",
     "是否定期开展数据安全风险评估",
     "Are data-security risk assessments carried out regularly?", "10"),
    ("data_security.im.03", Part.DATA_SECURITY, IM, "数据分级", "Data classification",
     "是否制定数据分类分级策略、方法及制度，并开展数据分级工作",
     "Are there data classification and grading policies, methods and rules, and is data "
     "actually classified?", "5"),
    ("data_security.im.04", Part.DATA_SECURITY, IM, "数据采集", "Data collection",
     "是否在数据采集时按照统一标准及要求，规范数据入库操作",
     "Is data collected to uniform standards, with controlled ingestion into storage?", "10"),
    ("data_security.im.05", Part.DATA_SECURITY, IM, "数据处理", "Data processing",
     "数据导出是否有明确的安全评估和授权审批流程",
     "Is there a defined security assessment and authorisation approval process for data "
     "export?", "10"),
    ("data_security.im.06", Part.DATA_SECURITY, IM, "数据存储", "Data storage",
     "是否对重要业务信息、系统数据、软件系统等对象具备并维持本地备份及恢复程序",
     "Are local backup and recovery procedures in place and maintained for important business "
     "information, system data and software?", "10"),
    ("data_security.im.07", Part.DATA_SECURITY, IM, "数据传输", "Data transmission",
     "数据导出是否有明确的安全评估和授权审批流程",
     "Is there a defined security assessment and authorisation approval process for data "
     "export?", "5"),
    ("data_security.im.08", Part.DATA_SECURITY, IM, "应急预案", "Emergency plan",
     "是否有针对服务器故障、业务系统故障、重要网络设备故障等场景导致重要业务连续性中断的专项应急预案",
     "Are there dedicated emergency plans for interruptions of critical business caused by "
     "server, business-system or key network-device failures?", "5"),
    ("data_security.ep.01", Part.DATA_SECURITY, EP, "数据处理活动", "Data processing activities",
     "是否使用安全协议（如 SSL/TLS）对数据进行加密",
     "Is data encrypted with secure protocols (e.g. SSL/TLS)?", "10"),
    ("data_security.ep.02", Part.DATA_SECURITY, EP, "数据安全技术", "Data security technology",
     "是否采取加密、脱敏、去标识化等技术手段保护重要数据、敏感数据及个人信息等的安全",
     "Are important data, sensitive data and personal information protected by encryption, "
     "masking or de-identification?", "10"),
    ("data_security.ep.03", Part.DATA_SECURITY, EP, "数据审计", "Data audit",
     "是否有针对数据库记录、数据安全产品日志的审计",
     "Are database records and data-security product logs audited?", "10"),
    ("data_security.ep.04", Part.DATA_SECURITY, EP, "数据管理", "Data management",
     "是否有数据泄露防护产品或数据监测运营平台",
     "Is there a data-leak-prevention product or a data-monitoring operations platform?", "10"),
)

ITEMS: tuple[Item, ...] = tuple(
    Item(id_, part, cat, tzh, ten, zh, en, Fraction(pts))
    for id_, part, cat, tzh, ten, zh, en, pts in _ROWS
)

ITEMS_BY_ID: dict[str, Item] = {item.id: item for item in ITEMS}


def items_of(part: Part) -> tuple[Item, ...]:
    return tuple(item for item in ITEMS if item.part is part)


def max_points(part: Part) -> Fraction:
    """Sum of the printed maxima: the denominator of the part score (§6.3.3 note 1)."""
    return sum((item.points for item in items_of(part)), Fraction(0))
