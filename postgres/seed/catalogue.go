package seed

import "github.com/lib/pq"

// department is a government department handling service items; id is its row id.
type department struct {
	id    int
	name  string
	phone string
}

var departments = []department{
	{1, "佛山市公安局", "0757-83338110"},
	{2, "佛山市公安局出入境管理支队", "0757-83338200"},
	{3, "佛山市公安局交通警察支队", "0757-83398122"},
	{4, "佛山市自然资源局", "0757-83031200"},
	{5, "佛山市市场监督管理局", "0757-83036315"},
	{6, "佛山市人力资源和社会保障局", "0757-83033333"},
	{7, "佛山市医疗保障局", "0757-83270012"},
	{8, "佛山市住房公积金管理中心", "0757-83300212"},
	{9, "佛山市卫生健康局", "0757-83380120"},
	{10, "佛山市残疾人联合会", "0757-83033055"},
	{11, "佛山市民政局", "0757-83352366"},
	{12, "佛山市教育局", "0757-83322512"},
	{13, "佛山市住房和城乡建设管理局", "0757-83300168"},
	{14, "佛山市交通运输局", "0757-83367002"},
}

// serviceItem is a service guide (办事指南) entry. weight is how often citizens apply for it.
type serviceItem struct {
	id        int
	code      string
	name      string
	dept      int
	category  string
	materials []string
	feeFen    int64
	days      int
	keywords  []string
	desc      string
	weight    int
}

// Materials that recur across items.
const (
	idCard     = "居民身份证原件及复印件"
	hukou      = "居民户口簿原件及复印件"
	photo      = "近期免冠彩色数码相片回执"
	form       = "申请表（现场或网上填写）"
	marriage   = "结婚证原件及复印件"
	socialCard = "社会保障卡"
)

// catalogue returns the service catalogue: about forty items a Foshan citizen asks about
// most, with their departments, materials, fees and statutory time limits (working days).
func catalogue() []serviceItem {
	items := []serviceItem{
		{code: "GA-HJ-001", name: "户籍迁入（投靠亲属）", dept: 1, category: "户籍办理", materials: []string{idCard, hukou, "亲属关系证明", "准予迁入证明", form}, days: 10, keywords: []string{"户口", "入户", "迁入", "投靠"}, desc: "符合投靠条件的人员申请将户口迁入佛山。", weight: 6},
		{code: "GA-HJ-002", name: "户籍迁入（人才引进）", dept: 1, category: "户籍办理", materials: []string{idCard, hukou, "学历或技能证书", "劳动合同", "社会保险缴费证明"}, days: 10, keywords: []string{"入户", "人才", "落户", "迁入"}, desc: "具有相应学历或技能的人员申请落户佛山。", weight: 8},
		{code: "GA-HJ-003", name: "出生入户登记", dept: 1, category: "户籍办理", materials: []string{"出生医学证明", "父母双方居民身份证", hukou, marriage}, days: 1, keywords: []string{"出生", "新生儿", "入户", "报户口"}, desc: "为新生儿申报常住户口。", weight: 6},
		{code: "GA-SFZ-001", name: "居民身份证换领", dept: 1, category: "身份证件", materials: []string{hukou, "原居民身份证", photo}, feeFen: 2000, days: 15, keywords: []string{"身份证", "换证", "到期"}, desc: "身份证有效期届满或证件损坏时换领新证。", weight: 10},
		{code: "GA-SFZ-002", name: "居民身份证挂失补领", dept: 1, category: "身份证件", materials: []string{hukou, photo}, feeFen: 4000, days: 15, keywords: []string{"身份证", "丢失", "补办", "挂失"}, desc: "身份证丢失后挂失并补领。", weight: 6},
		{code: "GA-JZZ-001", name: "居住证办理", dept: 1, category: "居住证", materials: []string{idCard, "住所证明（房屋租赁合同或房产证）", "就业、就读证明", photo}, days: 10, keywords: []string{"居住证", "暂住证", "流动人口"}, desc: "在佛山居住半年以上的非佛山户籍人员申领居住证。", weight: 14},
		{code: "GA-JZZ-002", name: "居住证签注", dept: 1, category: "居住证", materials: []string{"居住证", "住所证明"}, days: 1, keywords: []string{"居住证", "签注", "续签"}, desc: "居住证每年签注一次。", weight: 6},
		{code: "CRJ-001", name: "普通护照办理", dept: 2, category: "出入境证件", materials: []string{idCard, photo, "居住证（非本市户籍人员）"}, feeFen: 12000, days: 7, keywords: []string{"护照", "出国", "出入境"}, desc: "申请首次签发、换发或补发普通护照。", weight: 7},
		{code: "CRJ-002", name: "往来港澳通行证及签注", dept: 2, category: "出入境证件", materials: []string{idCard, photo}, feeFen: 6000, days: 7, keywords: []string{"港澳", "通行证", "签注", "香港", "澳门"}, desc: "申办往来港澳通行证及旅游、探亲等签注。", weight: 9},
		{code: "CRJ-003", name: "往来台湾通行证", dept: 2, category: "出入境证件", materials: []string{idCard, photo}, feeFen: 6000, days: 10, keywords: []string{"台湾", "通行证", "出入境"}, desc: "申办往来台湾通行证及签注。", weight: 2},
		{code: "JJ-JSZ-001", name: "机动车驾驶证换证", dept: 3, category: "交通出行", materials: []string{idCard, "机动车驾驶证", "机动车驾驶人身体条件证明"}, feeFen: 1000, days: 1, keywords: []string{"驾驶证", "驾照", "换证", "到期"}, desc: "驾驶证有效期满前九十日内申请换证。", weight: 7},
		{code: "JJ-JSZ-002", name: "机动车驾驶证补领", dept: 3, category: "交通出行", materials: []string{idCard, photo}, feeFen: 1000, days: 1, keywords: []string{"驾驶证", "驾照", "补办", "丢失"}, desc: "驾驶证遗失或损毁后补领。", weight: 3},
		{code: "JJ-JDC-001", name: "机动车注册登记", dept: 3, category: "交通出行", materials: []string{idCard, "购车发票", "车辆合格证", "交强险保单", "车辆购置税完税证明"}, feeFen: 12500, days: 1, keywords: []string{"上牌", "新车", "车牌", "注册登记"}, desc: "新车上牌注册登记。", weight: 4},
		{code: "ZR-BDC-001", name: "不动产转移登记（二手房）", dept: 4, category: "不动产登记", materials: []string{"不动产权证书", "买卖合同", "买卖双方居民身份证", "完税证明", form}, feeFen: 55000, days: 5, keywords: []string{"过户", "二手房", "房产证", "不动产"}, desc: "存量房买卖后办理不动产转移登记。", weight: 6},
		{code: "ZR-BDC-002", name: "不动产首次登记（新建商品房）", dept: 4, category: "不动产登记", materials: []string{idCard, "商品房买卖合同", "购房发票", "契税完税证明"}, feeFen: 55000, days: 5, keywords: []string{"房产证", "新房", "不动产", "办证"}, desc: "购买新建商品房后申领不动产权证书。", weight: 6},
		{code: "ZR-BDC-003", name: "不动产抵押登记", dept: 4, category: "不动产登记", materials: []string{"不动产权证书", "借款合同", "抵押合同", idCard}, feeFen: 8000, days: 3, keywords: []string{"抵押", "按揭", "贷款", "不动产"}, desc: "以不动产设定抵押时办理登记。", weight: 3},
		{code: "ZR-BDC-004", name: "不动产权证书补发", dept: 4, category: "不动产登记", materials: []string{idCard, "遗失声明", form}, feeFen: 8000, days: 10, keywords: []string{"房产证", "补发", "遗失"}, desc: "不动产权证书遗失或灭失后申请补发。", weight: 1},
		{code: "SJ-YYZZ-001", name: "个体工商户营业执照办理", dept: 5, category: "商事登记", materials: []string{"经营者居民身份证", "经营场所使用证明", "个体工商户登记申请书"}, days: 1, keywords: []string{"营业执照", "个体户", "开店"}, desc: "个体工商户设立登记并领取营业执照。", weight: 7},
		{code: "SJ-YYZZ-002", name: "有限责任公司设立登记", dept: 5, category: "商事登记", materials: []string{"公司登记申请书", "公司章程", "股东主体资格证明", "住所使用证明"}, days: 1, keywords: []string{"营业执照", "开公司", "注册公司"}, desc: "有限责任公司设立登记，一网通办。", weight: 4},
		{code: "SJ-SP-001", name: "食品经营许可证核发", dept: 5, category: "商事登记", materials: []string{"食品经营许可申请书", "营业执照", "经营场所平面图", "食品安全管理制度"}, days: 10, keywords: []string{"食品", "许可证", "餐饮", "开店"}, desc: "从事食品销售或餐饮服务前申领许可证。", weight: 3},
		{code: "RS-SBK-001", name: "社会保障卡申领", dept: 6, category: "社会保障", materials: []string{idCard, photo}, days: 10, keywords: []string{"社保卡", "申领", "办卡"}, desc: "参保人员首次申领社会保障卡。", weight: 10},
		{code: "RS-SBK-002", name: "社会保障卡挂失补换", dept: 6, category: "社会保障", materials: []string{idCard, photo}, days: 7, keywords: []string{"社保卡", "丢失", "补卡", "换卡"}, desc: "社会保障卡遗失、损坏后挂失并补换。", weight: 5},
		{code: "RS-YL-001", name: "养老保险关系转移", dept: 6, category: "社会保障", materials: []string{idCard, "参保缴费凭证", "转移申请表"}, days: 45, keywords: []string{"养老保险", "转移", "社保转移"}, desc: "跨省、跨市流动就业时转移基本养老保险关系。", weight: 4},
		{code: "RS-SY-001", name: "失业保险金申领", dept: 6, category: "社会保障", materials: []string{socialCard, "解除或终止劳动合同证明"}, days: 20, keywords: []string{"失业", "失业金", "失业保险"}, desc: "非本人意愿中断就业的参保人员申领失业保险金。", weight: 4},
		{code: "RS-TX-001", name: "职工退休待遇核准", dept: 6, category: "社会保障", materials: []string{idCard, "人事档案", "退休申请表"}, days: 30, keywords: []string{"退休", "养老金", "退休手续"}, desc: "达到法定退休年龄的参保人员申请按月领取养老金。", weight: 3},
		{code: "RS-CB-001", name: "灵活就业人员参保登记", dept: 6, category: "社会保障", materials: []string{idCard, form}, days: 1, keywords: []string{"灵活就业", "个人参保", "社保"}, desc: "个体工商户和灵活就业人员以个人身份参保。", weight: 3},
		{code: "YB-YD-001", name: "医保异地就医备案", dept: 7, category: "医疗保障", materials: []string{"居民身份证或社会保障卡", "异地就医备案表"}, days: 1, keywords: []string{"异地就医", "医保", "备案", "外地看病"}, desc: "参保人员到市外就医前办理备案，直接结算。", weight: 8},
		{code: "YB-CB-001", name: "城乡居民医疗保险参保登记", dept: 7, category: "医疗保障", materials: []string{idCard, hukou}, days: 1, keywords: []string{"居民医保", "参保", "医保"}, desc: "未参加职工医保的城乡居民参加居民医保。", weight: 5},
		{code: "YB-SY-001", name: "生育津贴申领", dept: 7, category: "医疗保障", materials: []string{socialCard, "出生医学证明", "住院病历"}, days: 20, keywords: []string{"生育津贴", "生育保险", "产假"}, desc: "参保职工生育后申领生育津贴。", weight: 4},
		{code: "GJJ-TQ-001", name: "住房公积金提取（租房）", dept: 8, category: "住房公积金", materials: []string{idCard, "房屋租赁合同或无房声明"}, days: 3, keywords: []string{"公积金", "提取", "租房"}, desc: "无自有住房的职工提取住房公积金支付房租。", weight: 10},
		{code: "GJJ-TQ-002", name: "住房公积金提取（购房）", dept: 8, category: "住房公积金", materials: []string{idCard, "购房合同", "购房发票或契税完税证明"}, days: 5, keywords: []string{"公积金", "提取", "购房", "买房"}, desc: "购买自住住房后提取住房公积金。", weight: 7},
		{code: "GJJ-DK-001", name: "住房公积金贷款申请", dept: 8, category: "住房公积金", materials: []string{idCard, marriage, "购房合同", "收入证明"}, days: 15, keywords: []string{"公积金贷款", "买房", "贷款"}, desc: "缴存职工购买自住住房申请公积金贷款。", weight: 4},
		{code: "GJJ-ZY-001", name: "住房公积金异地转移接续", dept: 8, category: "住房公积金", materials: []string{idCard, "新单位开户证明"}, days: 10, keywords: []string{"公积金", "转移", "异地"}, desc: "跨城市就业时转移住房公积金账户。", weight: 2},
		{code: "WJ-SY-001", name: "生育登记", dept: 9, category: "卫生健康", materials: []string{"夫妻双方居民身份证", marriage}, days: 1, keywords: []string{"生育登记", "准生证", "生孩子", "计划生育"}, desc: "生育子女的夫妻办理生育登记，网上即办。", weight: 7},
		{code: "WJ-CS-001", name: "出生医学证明补发", dept: 9, category: "卫生健康", materials: []string{"父母双方居民身份证", "住院分娩病历", "遗失声明"}, days: 20, keywords: []string{"出生证", "出生医学证明", "补发"}, desc: "出生医学证明遗失后申请补发。", weight: 2},
		{code: "CL-CJZ-001", name: "残疾人证办理", dept: 10, category: "残疾人服务", materials: []string{idCard, hukou, "近期2寸免冠彩色照片", "残疾评定表"}, days: 20, keywords: []string{"残疾人证", "残疾评定", "残联"}, desc: "经评定符合标准的残疾人申领残疾人证。", weight: 4},
		{code: "CL-BT-001", name: "困难残疾人生活补贴和重度残疾人护理补贴申请", dept: 10, category: "残疾人服务", materials: []string{"残疾人证", idCard, "银行账户"}, days: 20, keywords: []string{"残疾人", "补贴", "两项补贴", "护理补贴"}, desc: "符合条件的残疾人申请两项补贴。", weight: 3},
		{code: "MZ-HY-001", name: "结婚登记", dept: 11, category: "婚姻登记", materials: []string{"双方居民身份证", "双方户口簿", "双方合影2寸照片"}, days: 1, keywords: []string{"结婚", "领证", "婚姻登记"}, desc: "内地居民结婚登记，可预约办理。", weight: 5},
		{code: "MZ-DB-001", name: "最低生活保障申请", dept: 11, category: "社会救助", materials: []string{idCard, hukou, "家庭收入及财产申报表"}, days: 30, keywords: []string{"低保", "救助", "困难"}, desc: "家庭人均收入低于当地标准的居民申请低保。", weight: 2},
		{code: "JY-XW-001", name: "义务教育阶段积分入学申请", dept: 12, category: "教育", materials: []string{"父母居民身份证", "居住证", "社保缴费证明", "子女出生医学证明"}, days: 30, keywords: []string{"入学", "学位", "积分入学", "小学", "初中"}, desc: "随迁子女申请公办学校学位。", weight: 6},
		{code: "ZJ-GZF-001", name: "公共租赁住房申请", dept: 13, category: "住房保障", materials: []string{idCard, hukou, "家庭收入证明", "住房情况证明"}, days: 30, keywords: []string{"公租房", "保障房", "租房"}, desc: "住房困难家庭申请公共租赁住房。", weight: 3},
		{code: "JT-CY-001", name: "道路运输从业资格证办理", dept: 14, category: "交通出行", materials: []string{idCard, "机动车驾驶证", "考试合格证明"}, days: 10, keywords: []string{"从业资格证", "货运", "网约车", "出租车"}, desc: "从事道路客货运输的驾驶员申领从业资格证。", weight: 2},
	}
	for i := range items {
		items[i].id = i + 1
		items[i].code = "FS-" + items[i].code
	}
	return items
}

func fillDepartments(put put) error {
	for _, d := range departments {
		if err := put(d.id, d.name, d.phone); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) fillItems(put put) error {
	for _, it := range g.items {
		if err := put(it.id, it.code, it.name, it.dept, it.category, pq.StringArray(it.materials), it.feeFen,
			it.days, pq.StringArray(it.keywords), it.desc); err != nil {
			return err
		}
	}
	return nil
}

// itemPicker picks items by how often they are applied for.
func itemPicker(items []serviceItem) weighted[int] {
	cs := make([]choice[int], len(items))
	for i, it := range items {
		cs[i] = choice[int]{i, it.weight}
	}
	return newWeighted(cs...)
}
