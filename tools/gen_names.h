//  gen_names: the tables behind `hutong gen` — Qingyuan's county-level
//  units and townships, syllables for names of people and places, and the
//  shares gen draws facilities, elders and credit records by. Included
//  through gen.h by every gen file; the tables are static, so each file
//  keeps only those it uses. Name tables list frequent entries first: gen
//  draws with a skew towards the front. Shares are per thousand.
//
//  The values a field allows (statuses, subtypes, methods, results...)
//  are not listed here: they are the schema registry's, and gen takes
//  them from it (gen_choice). What is here is gen's own: how often each
//  allowed value is drawn, by its position in the registry's list.
#ifndef GEN_NAMES_H_INCLUDED
#define GEN_NAMES_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define S_COUNT(array) (sizeof (array) / sizeof ((array) [0]))

//  A real county-level unit of Qingyuan (4418). The township names are the
//  real ones (85 in all, DOMAIN.md §1), but gen numbers them itself
//  (streets 001.., towns 100.., 乡 200..): the TTT codes are synthetic.
typedef struct {
    const char *code;           //  6-digit GB/T 2260 code
    const char *name;           //  full name
    const char *short_name;     //  two characters, as in document numbers
    bool district;              //  区 (streets, urban communities)
    int32_t lat, lon;           //  seat, micro-degrees
    const char *townships;      //  space-separated, streets first
} s_real_county_t;

static const s_real_county_t s_qingyuan_counties [] = {
    { "441802", "清城区", "清城", true, 23697000, 113062000,
      "凤城街道 东城街道 洲心街道 横荷街道 源潭镇 龙塘镇 石角镇 飞来峡镇" },
    { "441803", "清新区", "清新", true, 23734000, 112985000,
      "太和镇 山塘镇 三坑镇 龙颈镇 禾云镇 浸潭镇 石潭镇 太平镇" },
    { "441821", "佛冈县", "佛冈", false, 23879000, 113532000,
      "石角镇 汤塘镇 龙山镇 水头镇 高岗镇 迳头镇" },
    { "441823", "阳山县", "阳山", false, 24465000, 112641000,
      "阳城镇 七拱镇 太平镇 杜步镇 江英镇 青莲镇 杨梅镇 大崀镇 小江镇 "
      "岭背镇 黄坌镇 黎埠镇 秤架瑶族乡" },
    { "441825", "连山壮族瑶族自治县", "连山", false, 24570000, 112093000,
      "吉田镇 太保镇 禾洞镇 永和镇 福堂镇 小三江镇 上帅镇" },
    { "441826", "连南瑶族自治县", "连南", false, 24726000, 112287000,
      "三江镇 寨岗镇 大麦山镇 香坪镇 大坪镇 涡水镇 三排镇" },
    { "441881", "英德市", "英德", false, 24186000, 113415000,
      "英城街道 沙口镇 望埠镇 横石水镇 桥头镇 青塘镇 白沙镇 大洞镇 大镇镇 "
      "九龙镇 石灰铺镇 石牯塘镇 下太镇 波罗镇 横石塘镇 大湾镇 浛洸镇 黎溪镇 "
      "水边镇 英红镇 东华镇 黄花镇 西牛镇 连江口镇" },
    { "441882", "连州市", "连州", false, 24780000, 112377000,
      "连州镇 星子镇 大路边镇 龙坪镇 西岸镇 保安镇 丰阳镇 东陂镇 九陂镇 "
      "西江镇 瑶安瑶族乡 三水瑶族乡" },
};

//  Place-name syllables: first + second gives 凤城, 石桥, 九龙 ...
static const char *const s_place_first [] = {
    "东", "西", "南", "北", "新", "石", "龙", "凤", "金", "太", "安", "兴",
    "华", "明", "春", "九", "三", "大", "长", "青", "黄", "白", "云", "高",
    "上", "下", "中", "马", "鹤", "松", "桂", "莲", "富", "丰", "福", "德",
    "仁", "光", "荣", "文", "昌", "平", "和", "永", "红", "竹", "梅", "双",
};
static const char *const s_place_second [] = {
    "山", "水", "江", "河", "湖", "桥", "塘", "坪", "岭", "洞", "坑", "田",
    "林", "城", "阳", "岗", "头", "口", "围", "坝", "明", "华", "安", "和",
    "平", "丰", "兴", "盛", "源", "光", "荣", "湾", "洲", "溪", "圳", "冲",
    "埔", "垌", "寨", "岩", "陂", "龙", "凤", "新", "联", "民", "福", "星",
};

//  Whole names that urban communities often carry
static const char *const s_urban_names [] = {
    "东门", "北门", "新城", "和平", "建设", "人民", "解放", "中山", "城北",
    "城南", "花园", "阳光", "锦绣", "学院", "桥北", "五一", "先锋", "沿江",
    "府前", "站前", "银泉", "华南", "富强", "文化", "滨江", "联和", "向阳",
    "新华", "东风", "光明", "松岗", "凤翔", "雍美", "百嘉", "龙塘", "金碧",
};

static const char *const s_street_names [] = {
    "人民路", "建设路", "解放路", "中山路", "新城大道", "北江路", "先锋路",
    "城北路", "东门街", "西门街", "南门街", "北门街", "学院路", "沿江路",
    "文化路", "站前路", "五一路", "松岗路", "银泉路", "桥北路", "华南路",
    "广清大道", "府前路", "向阳路", "新华街", "光明路", "东风路", "滨江路",
};

//  Common surnames in Guangdong, most frequent first
static const char *const s_surnames [] = {
    "陈", "黄", "李", "梁", "林", "张", "罗", "刘", "何", "邓", "吴", "郑",
    "冯", "谢", "杨", "曾", "朱", "许", "叶", "钟", "苏", "周", "赖", "卢",
    "莫", "彭", "潘", "邱", "蔡", "余", "麦", "廖", "温", "唐", "范", "骆",
    "严", "植", "房", "欧阳", "黎", "成", "赵", "王", "孙", "胡", "郭", "徐",
};

//  Given-name characters of the generation born 1926-1965
static const char *const s_male_given [] = {
    "国", "建", "福", "德", "明", "华", "文", "志", "金", "荣", "永", "光",
    "伟", "强", "忠", "海", "生", "林", "昌", "和", "贵", "兴", "发", "祥",
    "庆", "东", "平", "顺", "成", "坤", "财", "富", "胜", "才", "新", "树",
    "有", "汉", "炳", "锦", "耀", "添", "灿", "辉", "棠", "根", "水", "培",
};
static const char *const s_female_given [] = {
    "秀", "英", "兰", "珍", "芳", "桂", "玉", "凤", "梅", "娣", "好", "妹",
    "群", "莲", "花", "琼", "娟", "霞", "丽", "容", "彩", "金", "银", "月",
    "爱", "翠", "杏", "带", "清", "淑", "惠", "玲", "燕", "嫦", "珠", "香",
};

static const char *const s_relations [] = {
    "儿子", "女儿", "儿媳", "女婿", "孙子", "孙女", "侄子", "邻居",
};

//  Mobile prefixes common among older subscribers
static const char *const s_mobile_prefixes [] = {
    "138", "139", "135", "137", "136", "134", "159", "158", "150", "151",
    "152", "188", "187", "182", "183", "130", "131", "132", "155", "156",
    "186", "133", "153", "180", "189", "177", "199", "198", "191", "166",
};

//  Private homes' trade names and what they call themselves
static const char *const s_home_brands [] = {
    "康乐", "颐年", "福寿", "长青", "松鹤", "安康", "乐龄", "颐和", "福满",
    "康宁", "仁爱", "慈恩", "晚晴", "夕阳红", "寿康", "乐善", "泰康", "瑞福",
    "和顺", "百合", "怡乐", "同心",
};
static const char *const s_home_suffixes [] = {
    "养老院", "护理院", "颐养院", "老年公寓", "养老中心",
};

static const char *const s_institution_services [] = {
    "生活照料", "医疗护理", "康复训练", "膳食服务", "文化娱乐", "精神慰藉",
    "安宁疗护", "认知症照护",
};
static const char *const s_station_services [] = {
    "日间照料", "助餐", "助浴", "上门服务", "康复训练", "文化娱乐",
    "健康管理", "精神慰藉",
};
static const char *const s_village_services [] = {
    "文化娱乐", "互助服务", "助餐", "健康讲座",
};
static const char *const s_meal_services [] = { "助餐", "送餐", "堂食" };

//  Credit: issuing departments and what their documents are called
typedef struct {
    const char *dept;           //  issuer_dept value
    const char *short_name;     //  in document numbers
    const char *legal_basis;    //  penalty basis
} s_dept_t;

static const s_dept_t s_depts [] = {
    { "civil_affairs", "民政", "《养老机构管理办法》第四十六条" },
    { "market_regulation", "市监", "《中华人民共和国食品安全法》第一百二十六条" },
    { "fire", "消防", "《中华人民共和国消防法》第六十条" },
    { "health", "卫健", "《医疗机构管理条例》第四十七条" },
};

static const char *const s_checklist [] = {
    "GB 38600-2019 服务安全", "消防安全", "食品安全", "建筑安全",
    "特种设备安全", "医疗卫生", "服务质量", "收费管理",
};

static const char *const s_rectify_actions [] = {
    "更换过期灭火器并完成消防设施检测",
    "疏通安全出口，清理疏散通道堆放物",
    "完善食品留样和进货查验记录",
    "补充护理员岗前培训并建立培训档案",
    "修订突发事件应急预案并组织演练",
    "为入住老年人完成入院评估并建立健康档案",
    "更新服务合同，公示收费项目和标准",
    "加装床头呼叫装置和卫生间扶手",
};

//  List-entry facts, indexed by ground - 1 (the MCA measures' 10 grounds)
static const char *const s_ground_facts [] = {
    "超出章程规定的宗旨和业务范围开展活动",
    "侵害老年人人身和财产权益",
    "以养老服务为名非法集资、向老年人欺诈销售保健品",
    "存在重大火灾隐患，经通知后逾期不整改",
    "对安全责任事故负有责任",
    "骗取、冒领养老服务补贴",
    "拒绝、阻挠监督检查或提供虚假材料",
    "未按规定报送年度工作报告、公开信息",
    "存在其他严重违法违规情形",
    "被人民法院依法纳入失信被执行人名单",
};

static const char *const s_removal_reasons [] = {
    "失信行为已纠正，履行相关义务后申请信用修复",
    "列入满两年且期间无新的严重失信行为",
    "据以列入的行政处罚决定被依法撤销",
};

static const char *const s_chinese_levels [] = {
    "一级", "二级", "三级", "四级", "五级",
};

//  --------------------------------------------------------------------------
//  Facilities

typedef enum {
    S_WELFARE_HOME,                 //  county 社会福利院, 公办
    S_TOWN_HOME,                    //  township 敬老院, 公办
    S_REGIONAL_HOME,                //  区域性敬老院, 公建民营
    S_PRIVATE_HOME,                 //  民办 养老院
    S_CENTER,                       //  a street's 居家养老服务中心
    S_STATION,                      //  居家养老服务站
    S_VILLAGE_POINT,                //  幸福院
    S_MEAL_POINT                    //  长者饭堂
} s_facility_kind_t;

typedef enum { S_BY_COUNTY, S_BY_TOWNSHIP, S_BY_PLACE } s_named_by_t;

typedef struct {
    const char *type;               //  facility type field
    const char *name_format;        //  "%s敬老院", filled with ...
    s_named_by_t named_by;          //  ... the county, township or place name
    const char *uscc_prefix;        //  12 事业单位, 52 民办非企业单位
    int beds_low, beds_high;        //  beds_total (0: none)
    int area_low, area_high;        //  m²
    int subject_weight;             //  how often credit records name one
} s_profile_t;

//  Beds per DOMAIN.md §1: public homes average 70, private 128, 公建民营 400
static const s_profile_t s_profiles [] = {
    [S_WELFARE_HOME]  = { "institution", "%s社会福利院", S_BY_COUNTY, "12",
                          80, 300, 3000, 15000, 6 },
    [S_TOWN_HOME]     = { "institution", "%s敬老院", S_BY_TOWNSHIP, "12",
                          30, 110, 1500, 6000, 6 },
    [S_REGIONAL_HOME] = { "institution", "%s区域性敬老院", S_BY_TOWNSHIP, "12",
                          200, 700, 8000, 20000, 6 },
    [S_PRIVATE_HOME]  = { "institution", "%s", S_BY_COUNTY, "52",    //  + brand, suffix
                          50, 250, 2000, 10000, 8 },
    [S_CENTER]        = { "street_center", "%s居家养老服务中心", S_BY_TOWNSHIP, "52",
                          10, 40, 500, 1500, 3 },
    [S_STATION]       = { "community_station", "%s居家养老服务站", S_BY_PLACE, "52",
                          0, 10, 150, 500, 1 },
    [S_VILLAGE_POINT] = { "village_point", "%s幸福院", S_BY_PLACE, "52",
                          0, 0, 80, 300, 1 },
    [S_MEAL_POINT]    = { "meal_point", "%s长者饭堂", S_BY_PLACE, "52",
                          0, 0, 60, 200, 2 },
};

//  Past the city's plan: extra stations, 幸福院, 饭堂 and private homes
static const int s_extra_weights [] = { 35, 30, 20, 15 };
static const s_facility_kind_t s_extra_kinds [] = {
    S_STATION, S_VILLAGE_POINT, S_MEAL_POINT, S_PRIVATE_HOME };
static const int s_rating_weights [] = { 100, 300, 350, 180, 70 };

//  --------------------------------------------------------------------------
//  Elders

//  Birth years 1961-65, 1956-60 ... 1926-30 (everyone is 60 or older):
//  share of the 60+ population, share of women, deaths, per band
static const int s_band_weights [] = { 280, 250, 180, 120, 90, 52, 21, 7 };
static const int s_band_women [] = { 490, 500, 510, 530, 560, 600, 650, 700 };
static const int s_band_deaths [] = { 8, 12, 18, 25, 40, 60, 90, 130 };
//  Ability levels 0-4 (GB/T 42195) in the 60s, 70s, 80s, 90s
static const int s_ability [4][5] = {
    { 900, 60, 25, 10, 5 }, { 780, 120, 55, 25, 20 },
    { 560, 200, 120, 65, 55 }, { 350, 230, 180, 120, 120 } };
//  Living arrangements (elder.living), in the registry's order
static const int s_urban_living [] = { 120, 380, 20, 450, 30 };
static const int s_rural_living [] = { 100, 330, 120, 420, 30 };

//  --------------------------------------------------------------------------
//  Credit

//  Credit subtypes (credit.type), in the registry's order: each has its
//  own builder in gen_credit.c
typedef enum {
    S_INSPECTION, S_PENALTY, S_RECTIFICATION, S_RATING, S_LIST_ENTRY, S_CREDIT_TYPES
} s_credit_type_t;

static const int s_credit_weights [] = { 600, 100, 150, 100, 50 };
static const char *const s_doc_marks [] = { "检", "罚", "改", "评", "信" };

static const int s_inspection_depts [] = { 500, 200, 200, 100 };
//  credit.method, credit.result and credit.outcome, in the registry's order
static const int s_method_weights [] = { 550, 200, 150, 100 };
static const int s_result_weights [] = { 750, 200, 40, 10 };
static const int s_outcome_weights [] = { 800, 120, 80 };

//  Penalties: warning; warning and fine; fine and suspension; revocation
static const int s_penalty_depts [] = { 400, 300, 300, 0 };
static const int s_penalty_weights [] = { 350, 500, 120, 30 };
static const char *const s_penalty_types [][2] = {
    { "警告" }, { "警告", "罚款" }, { "罚款", "停业整顿" }, { "吊销" } };
static const int s_publicity_days [] = { 180, 365, 1095, 1095 };
static const int s_fine_limits [] = { 30, 50, 100, 30 };    //  thousand yuan, per dept

static const char *const s_credit_grades [] = { "A级", "B级", "C级" };
//  credit.grounds, in the registry's order (s_ground_facts follows it too)
static const int s_ground_weights [] = { 50, 100, 120, 250, 80, 200, 80, 70, 30, 20 };

#endif
