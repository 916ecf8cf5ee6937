package seed

import (
	"fmt"

	"github.com/foshan-hotline/hotline"
)

// stationSite is a service station's place: its town or street office (镇街) and address.
type stationSite struct{ town, address string }

// stationSites lists, per district (hotline.Districts order), the district's administrative
// service centre first and then town and street service centres.
var stationSites = [][]stationSite{
	{ // 禅城区
		{"", "佛山市禅城区季华五路18号"},
		{"祖庙街道", "佛山市禅城区祖庙路33号"},
		{"石湾镇街道", "佛山市禅城区石湾镇公仁路12号"},
		{"张槎街道", "佛山市禅城区张槎一路115号"},
		{"南庄镇", "佛山市禅城区南庄镇南庄大道中8号"},
	},
	{ // 南海区
		{"", "佛山市南海区桂城南海大道北59号"},
		{"桂城街道", "佛山市南海区桂城南桂东路31号"},
		{"大沥镇", "佛山市南海区大沥镇建设大道68号"},
		{"狮山镇", "佛山市南海区狮山镇罗村大道19号"},
		{"里水镇", "佛山市南海区里水镇和顺大道12号"},
		{"九江镇", "佛山市南海区九江镇沙口路3号"},
		{"西樵镇", "佛山市南海区西樵镇樵华路26号"},
	},
	{ // 顺德区
		{"", "佛山市顺德区大良德和路2号"},
		{"大良街道", "佛山市顺德区大良凤山中路8号"},
		{"容桂街道", "佛山市顺德区容桂大道中166号"},
		{"北滘镇", "佛山市顺德区北滘镇跃进路22号"},
		{"乐从镇", "佛山市顺德区乐从镇佛山大道南118号"},
		{"陈村镇", "佛山市顺德区陈村镇佛陈路56号"},
		{"龙江镇", "佛山市顺德区龙江镇东华路9号"},
	},
	{ // 三水区
		{"", "佛山市三水区西南街道广海大道西33号"},
		{"西南街道", "佛山市三水区西南街道张边路6号"},
		{"云东海街道", "佛山市三水区云东海街道宝云路8号"},
		{"白坭镇", "佛山市三水区白坭镇富景路3号"},
		{"乐平镇", "佛山市三水区乐平镇乐华路12号"},
	},
	{ // 高明区
		{"", "佛山市高明区荷城街道高明大道中288号"},
		{"荷城街道", "佛山市高明区荷城街道沧江路101号"},
		{"杨和镇", "佛山市高明区杨和镇朗新路18号"},
		{"明城镇", "佛山市高明区明城镇明二路5号"},
		{"更合镇", "佛山市高明区更合镇新城路2号"},
	},
}

// Opening hours of service stations; the district centres also open on Saturday.
const (
	hoursWeekdays = "周一至周五 9:00-12:00 14:00-17:30"
	hoursSaturday = "周一至周六 9:00-12:00 14:00-17:30（法定节假日除外）"
	hoursLong     = "周一至周五 8:30-12:00 14:00-18:00"
)

// phonePrefixes are the first digits of landlines by district.
var phonePrefixes = []string{"83", "86", "22", "87", "88"}

func (g *generator) fillStations(put put) error {
	r := newSource(g.seed, streamStatic).at(1)
	id := 0
	for d, sites := range stationSites {
		district := hotline.Districts[d]
		for k, s := range sites {
			id++
			name, hours := district.Name+s.town+"党群服务中心", hoursWeekdays
			if k == 0 {
				name, hours = district.Name+"行政服务中心", hoursSaturday
			} else if chance(r, 0.3) {
				hours = hoursLong
			}
			phone := fmt.Sprintf("0757-%s%06d", phonePrefixes[d], r.IntN(1_000_000))
			if err := put(id, district.Code, name, s.address, hours, phone); err != nil {
				return err
			}
		}
	}
	return nil
}
