"""Curated rows of the bundled sample reference set; ``build_sample`` adds the generated bulk.

These tables are the hand-picked part: hospitals, funds, base rates, the DRG grouping, and the
rows shared with the worked example of the spec (``spec/examples/two-drops/reference``), whose
values are kept unchanged so that the example's claims price the same under the sample set.
"""

from __future__ import annotations

import csv
import io

__all__ = [
    "BASE_RATES",
    "DRG_ANCHORS",
    "DRUG_ANCHORS",
    "FEE_ANCHORS",
    "FUNDS",
    "GROUPING",
    "HOSPITALS",
    "ICD10_ANCHORS",
    "PROVINCE_BRANCH",
    "rows",
]


def rows(text: str) -> list[list[str]]:
    """The rows of a CSV literal (no header), leading and trailing blank lines ignored."""
    return list(csv.reader(io.StringIO(text.strip("\n"))))


#: Bank branch prefix of the hospitals' accounts, per province.
PROVINCE_BRANCH = {
    "Bangkok": "0101", "Chon Buri": "0201", "Nakhon Ratchasima": "0301",
    "Ubon Ratchathani": "0341", "Khon Kaen": "0401", "Udon Thani": "0411",
    "Phitsanulok": "0651", "Chiang Mai": "0671", "Nakhon Si Thammarat": "0801",
    "Phuket": "0831", "Surat Thani": "0841", "Songkhla": "0901",
}  # fmt: skip

#: hcode, name, province, type, bank (account derived: branch + 2 + hcode[1:] + sequence).
HOSPITALS = """
10713,โรงพยาบาลนครพิงค์,Chiang Mai,PUB,
10714,โรงพยาบาลฝาง,Chiang Mai,PUB,
11119,โรงพยาบาลมหาราชนครเชียงใหม่,Chiang Mai,OTH,
11960,โรงพยาบาลเชียงใหม่ราม,Chiang Mai,PRV,
10670,โรงพยาบาลขอนแก่น,Khon Kaen,PUB,
10998,โรงพยาบาลชุมแพ,Khon Kaen,PUB,
13777,โรงพยาบาลศรีนครินทร์,Khon Kaen,OTH,
11500,โรงพยาบาลขอนแก่นราม,Khon Kaen,PRV,
10682,โรงพยาบาลหาดใหญ่,Songkhla,PUB,
10745,โรงพยาบาลสงขลา,Songkhla,PUB,
11481,โรงพยาบาลกรุงเทพหาดใหญ่,Songkhla,PRV,
13781,โรงพยาบาลตำรวจ,Bangkok,OTH,
11716,โรงพยาบาลบำรุงราษฎร์,Bangkok,PRV,
10661,โรงพยาบาลราชวิถี,Bangkok,PUB,KRTHTHBK
10662,โรงพยาบาลเลิดสิน,Bangkok,PUB,KRTHTHBK
10663,โรงพยาบาลนพรัตนราชธานี,Bangkok,PUB,
13780,โรงพยาบาลศิริราช,Bangkok,OTH,SICOTHBK
13779,โรงพยาบาลรามาธิบดี,Bangkok,OTH,
11720,โรงพยาบาลกรุงเทพ,Bangkok,PRV,BKKBTHBK
11724,โรงพยาบาลสมิติเวช สุขุมวิท,Bangkok,PRV,KASITHBK
11117,โรงพยาบาลจอมทอง,Chiang Mai,PUB,
11122,โรงพยาบาลสันป่าตอง,Chiang Mai,PUB,KRTHTHBK
11959,โรงพยาบาลลานนา,Chiang Mai,PRV,
11004,โรงพยาบาลน้ำพอง,Khon Kaen,PUB,
11005,โรงพยาบาลบ้านไผ่,Khon Kaen,PUB,KRTHTHBK
10666,โรงพยาบาลมหาราชนครราชสีมา,Nakhon Ratchasima,PUB,KRTHTHBK
10869,โรงพยาบาลปากช่องนานา,Nakhon Ratchasima,PUB,
11564,โรงพยาบาลค่ายสุรนารี,Nakhon Ratchasima,OTH,
11598,โรงพยาบาลกรุงเทพราชสีมา,Nakhon Ratchasima,PRV,BKKBTHBK
13776,โรงพยาบาลสงขลานครินทร์,Songkhla,OTH,
11398,โรงพยาบาลจะนะ,Songkhla,PUB,
10664,โรงพยาบาลชลบุรี,Chon Buri,PUB,KRTHTHBK
10837,โรงพยาบาลบางละมุง,Chon Buri,PUB,
11053,โรงพยาบาลสมเด็จพระบรมราชเทวี ณ ศรีราชา,Chon Buri,OTH,
11539,โรงพยาบาลกรุงเทพพัทยา,Chon Buri,PRV,BKKBTHBK
10669,โรงพยาบาลสรรพสิทธิประสงค์,Ubon Ratchathani,PUB,KRTHTHBK
10941,โรงพยาบาลวารินชำราบ,Ubon Ratchathani,PUB,
10676,โรงพยาบาลพุทธชินราช พิษณุโลก,Phitsanulok,PUB,KRTHTHBK
10671,โรงพยาบาลอุดรธานี,Udon Thani,PUB,
10738,โรงพยาบาลสุราษฎร์ธานี,Surat Thani,PUB,
10685,โรงพยาบาลวชิระภูเก็ต,Phuket,PUB,KRTHTHBK
11566,โรงพยาบาลกรุงเทพภูเก็ต,Phuket,PRV,BKKBTHBK
10672,โรงพยาบาลมหาราชนครศรีธรรมราช,Nakhon Si Thammarat,PUB,
"""

#: code, name, precedence, cap_per_claim, op_refer, account, bank.
FUNDS = """
OFC,Civil Servant Medical Benefit Scheme,10,,0,9990000101,KRTHTHBK
LGO,Local Government Officers Fund,20,,0,9990000202,KRTHTHBK
SSS,Social Security Fund,30,,0,9990000303,KRTHTHBK
UCS,Universal Coverage Scheme,40,,1,9990000404,KRTHTHBK
STP,Fund for People with Status Problems,50,,0,9990000505,KRTHTHBK
MIG,Migrant Health Insurance,60,,0,9990000606,KRTHTHBK
WCF,Workmen's Compensation Fund,70,50000.00,0,9990000707,KRTHTHBK
RTA,Road Traffic Victims Fund,80,30000.00,0,9990000808,KRTHTHBK
MNF,Multinational Fund,90,,0,9990000909,KRTHTHBK
"""

#: fund, hospital_type, care, rate, valid_from, valid_to. An exact hospital type added for a
#: (fund, care) would change the example's prices, so the sample keeps the example's rates.
BASE_RATES = """
UCS,*,IP,8350.00,2024-10-01,2026-10-15
UCS,*,IP,8450.00,2026-10-16,
UCS,OTH,IP,9100.00,2024-10-01,
UCS,*,IP_EMERGENCY,10500.00,2024-10-01,
UCS,PRV,IP_EMERGENCY,12000.00,2024-10-01,
OFC,*,IP,9600.00,2024-10-01,
OFC,PRV,IP,10897.00,2024-10-01,
OFC,*,IP_EMERGENCY,11000.00,2024-10-01,
LGO,*,IP,9600.00,2024-10-01,
LGO,*,IP_EMERGENCY,11000.00,2024-10-01,
SSS,*,IP,7800.00,2024-10-01,
SSS,*,IP_EMERGENCY,9200.00,2024-10-01,
STP,*,IP,8350.00,2024-10-01,
STP,*,IP_EMERGENCY,10500.00,2024-10-01,
MIG,*,IP,7000.00,2024-10-01,
MIG,*,IP_EMERGENCY,9500.00,2024-10-01,
"""

#: drg, rw, rw0d, wtlos, ot, of, valid_from, valid_to: the example's DRG rows, verbatim.
DRG_ANCHORS = """
01530,1.5521,0.5000,7.80,23,0.9000,2024-10-01,
01560,0.6410,0.2100,2.90,9,0.6000,2024-10-01,
02010,0.8210,0.6050,1.90,6,0.5000,2024-10-01,
04539,0.6999,0.2100,3.90,12,0.5000,2024-10-01,
04550,1.2345,0.4120,5.60,17,1.0000,2024-10-01,2026-09-30
04550,1.2560,0.4120,5.60,17,1.0000,2026-10-01,
04552,1.4012,0.4500,6.10,18,1.0000,2024-10-01,
04560,0.5120,0.1800,2.50,8,0.5000,2024-10-01,
05050,4.8512,1.9000,6.50,20,1.0000,2024-10-01,
05530,1.8890,0.6210,6.20,19,0.9000,2024-10-01,
05560,1.1000,0.3700,4.40,13,0.8000,2024-10-01,
05590,0.7000,0.2300,3.30,10,0.6000,2024-10-01,
06010,1.3120,0.4010,4.20,13,0.8000,2024-10-01,
06530,0.4567,0.1523,2.80,9,0.7500,2024-10-01,
06550,0.5480,0.1700,3.20,10,0.5000,2024-10-01,
07020,1.9999,0.6800,4.90,15,0.8000,2024-10-01,
08030,3.2150,0.0000,9.30,28,0.8000,2024-10-01,
08560,1.0520,0.3500,5.90,18,0.7000,2024-10-01,
09550,0.7320,0.2400,4.60,14,0.7000,2024-10-01,
10550,0.7640,0.2500,4.00,12,0.7000,2024-10-01,
10560,0.6120,0.2000,3.60,11,0.6000,2024-10-01,
11560,0.5560,0.0000,3.70,11,0.6000,2024-10-01,
12010,2.0000,0.7000,5.20,16,0.9000,2024-10-01,
12540,1.3300,0.4400,6.80,0,0.0000,2024-10-01,
12560,0.6600,0.2200,3.40,10,0.5000,2024-10-01,
14020,0.9870,0.0000,4.12,12,0.7500,2024-10-01,
14500,0.5923,0.2890,2.31,7,0.6000,2024-10-01,
14550,0.4310,0.1400,2.60,8,0.5000,2024-10-01,
15510,2.5000,0.5000,12.00,36,1.0000,2024-10-01,
15550,0.3456,0.1200,3.50,11,0.6000,2024-10-01,
16550,0.6350,0.2100,3.10,9,0.6000,2024-10-01,
18550,0.8123,0.2500,4.10,12,0.6000,2024-10-01,
21550,0.9010,0.3000,3.80,11,0.7000,2024-10-01,
21560,0.4820,0.1600,2.40,7,0.5000,2024-10-01,
"""

#: pdx_prefix, procedural, drg. The example's rows first (verbatim), then the sample's: every
#: chapter letter both ways, then common diagnoses. ``build_sample`` checks that no added row
#: is a longer match than the example's for any of the example's ICD-10 codes.
GROUPING = """
A,0,18550
A09,0,06530
J,0,04539
J18,0,04550
J189,0,04552
J05,0,04560
I,0,05590
I2,0,05560
I21,0,05530
I21,1,05050
I63,0,01530
E,0,10560
E11,0,10550
K,0,06550
K35,1,06010
K80,1,07020
S,0,21550
S06,0,01560
S72,0,08560
S72,1,08030
T,0,21560
O,0,14550
O8,0,14500
O82,1,14020
N40,0,12560
N40,1,12010
N39,0,11560
C61,0,12540
P,0,15550
P07,0,15510
H25,1,02010
L03,0,09550
D64,0,16550
A,1,18010
B,0,18560
B,1,18010
C,0,17560
C,1,17020
D,0,16560
D,1,16010
E,1,10010
F,0,19550
F,1,19010
G,0,01580
G,1,01020
H,0,02550
H,1,02020
I,1,05090
J,1,04020
K,1,06030
L,0,09560
L,1,09010
M,0,08570
M,1,08040
N,0,11550
N,1,11020
O,1,14030
P,1,15010
Q,0,23570
Q,1,23010
R,0,23550
R,1,23020
S,1,21010
T,1,21020
U,0,18570
U,1,18020
V,0,21570
V,1,21030
W,0,21570
W,1,21030
X,0,21570
X,1,21030
Y,0,21570
Y,1,21030
Z,0,23580
Z,1,23030
A15,0,04510
A41,0,18520
A90,0,18530
A91,0,18530
B20,0,25550
B24,0,25550
B20,1,25010
C16,0,06510
C18,0,06510
C20,0,06510
C22,0,07540
C34,0,04530
C50,0,09520
C53,0,13520
C91,0,17510
C92,0,17510
C18,1,06020
C34,1,04010
C50,1,09020
C53,1,13020
C61,1,12020
D25,0,13550
D25,1,13010
E10,0,10550
E86,0,10570
E87,0,10570
E11,1,10020
F10,0,20550
F15,0,20560
F20,0,19510
F32,0,19520
G03,0,01510
G40,0,01540
G45,0,01520
H6,0,03550
H6,1,03010
H26,1,02010
H40,1,02030
I48,0,05570
I50,0,05540
I61,0,01530
I64,0,01530
I2,1,05040
I61,1,01010
I63,1,01010
J1,0,04550
J44,0,04570
J96,0,04580
J18,1,04030
K25,0,06540
K26,0,06540
K27,0,06540
K74,0,07550
K85,0,07560
K92,0,06520
K40,1,06040
K81,1,07020
K92,1,06050
M16,1,08020
M17,1,08020
N17,0,11510
N18,0,11510
N20,0,11530
N80,0,13560
N18,1,11040
N20,1,11030
N80,1,13030
O0,0,14540
O1,0,14530
O00,1,14060
O03,1,14050
O80,1,14040
P22,0,15520
P36,0,15530
P07,1,15020
R10,0,06560
R50,0,23550
S52,0,08550
S82,0,08550
S06,1,01030
S52,1,08050
S82,1,08050
T2,0,22550
T3,0,22550
T4,0,21530
T78,0,21540
T2,1,22010
Z38,0,15560
Z51,0,17530
"""

#: code, unit_price, drg_exempt, valid_from, valid_to: the example's fee-schedule rows.
FEE_ANCHORS = """
55020,50.00,0,2024-10-01,
55021,100.00,0,2024-10-01,
30201,90.00,0,2024-10-01,2026-10-09
30201,100.00,0,2026-10-10,
32203,40.00,0,2024-10-01,
31001,50.00,0,2024-10-01,
41001,170.00,0,2024-10-01,
42501,600.00,0,2024-10-01,
46305,150.00,0,2024-10-01,
70101,120.00,0,2026-10-01,
61102,200.00,0,2024-10-01,2026-09-30
89001,80.00,0,2024-10-01,
23601,280.00,0,2024-10-01,
7502,2800.00,1,2024-10-01,
4603,16000.00,1,2024-10-01,
7120,15000.00,1,2024-10-01,
9001,1200.00,1,2024-10-01,
"""

#: code, ceiling_price, valid_from, valid_to: the example's drug rows.
DRUG_ANCHORS = """
100011,0.35,2024-10-01,
100223,1.20,2024-10-01,
101504,0.80,2024-10-01,
549007,21.00,2024-10-01,
203440,0.45,2024-10-01,
112233,0.60,2024-10-01,
300117,85.00,2024-10-01,
451230,110.00,2024-10-01,
662001,2.50,2024-10-01,
700900,0.70,2024-10-01,2026-09-30
"""

#: code, sex, age_min, age_max: the example's ICD-10 rows; they win over the generated rules.
ICD10_ANCHORS = """
A090,,,
A099,,,
J069,,,
J180,,,
J189,,,
J459,,,
J050,,0,14
I10,,,
I209,,,
I219,,,
I639,,,
E119,,,
E149,,,
K297,,,
K359,,,
K800,,,
S0600,,,
S7200,,,
T149,,,
O210,2,12,55
O800,2,12,55
O829,2,12,55
N40,1,,
C61,1,,
N390,,,
N950,2,40,
P073,,0,0
P599,,0,0
R509,,,
Z000,,,
M545,,,
H251,,,
D649,,,
B24,,,
L039,,,
"""
