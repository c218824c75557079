"""Site inventories the tests share (YAML text)."""

from __future__ import annotations

# A complete, valid inventory of one school (credential references only).
GOOD = """\
version: 1
school:
  name: 测试学校
  code: T-1
scope:
  allow: [10.200.0.0/16]
authorisation:
  authorised_by: 张校长
  role: 校长
  reference: T-AUTH-2026-001
  valid_from: 2020-01-01
  valid_until: 2099-12-31
uplink:
  endpoints:
    - id: district
      address: 10.200.0.2
  port: {device: sw1, port: GigabitEthernet0/0/1}
classrooms:
  - id: room101
    name: 教学楼 101
    endpoint: {address: 10.200.11.2}
    access_port: {device: sw1, port: Ethernet0/0/1}
devices:
  - id: sw1
    address: 10.200.9.2
    vendor: huawei
    snmp:
      version: "2c"
      community: {env: SNMP_COMMUNITY}
"""

# Its authorisation record (a current one: 2020 to 2099).
AUTH = """authorisation:
  authorised_by: 张校长
  role: 校长
  reference: T-AUTH-2026-001
  valid_from: 2020-01-01
  valid_until: 2099-12-31
"""

# The same school with every target outside the scope allow-list: a real run goes end to end and
# sends nothing anywhere.
OUT_OF_SCOPE = GOOD.replace("[10.200.0.0/16]", "[10.251.0.0/16]")
