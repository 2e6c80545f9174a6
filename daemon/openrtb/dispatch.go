package openrtb

// Object fields and array elements are dispatched through kinds rather than
// function values: an indirect call would make the parser escape to the heap
// and cost an allocation per Parse.

type fieldKind uint8

const (
	kAppField fieldKind = iota
	kAppPublisherField
	kAudioField
	kBannerField
	kDealField
	kDurFloorField
	kDeviceField
	kEidField
	kFormatField
	kGeoField
	kImpField
	kMetricField
	kNativeField
	kNativeReqField
	kNativeAssetField
	kNativeTitleField
	kNativeImgField
	kNativeDataField
	kNativeVideoField
	kEventTrackerField
	kPmpField
	kQtyField
	kRegsDSAField
	kRegsExtField
	kRegsField
	kSchainField
	kSegmentField
	kSiteField
	kSitePublisherField
	kSkipField
	kSourceExtField
	kSourceField
	kUidField
	kUserDataField
	kUserExtField
	kUserField
	kVideoField
)

type elemKind uint8

const (
	eFormat elemKind = iota
	eUid
	eImp
	eMetric
	eDeal
	eSchainNode
	eUserData
	eSegment
	eEid
	eDurFloor
	eNativeAsset
	eEventTracker
	eEventMethod
	eNativeMime
	eNativeProtocol
)

func (p *parser) elem(k elemKind, i int) error {
	switch k {
	case eFormat:
		return format(p, i)
	case eUid:
		return uid(p, i)
	case eImp:
		return imp(p, i)
	case eMetric:
		return metric(p, i)
	case eDeal:
		return deal(p, i)
	case eSchainNode:
		return schainNode(p, i)
	case eUserData:
		return userData(p, i)
	case eSegment:
		return segment(p, i)
	case eEid:
		return eid(p, i)
	case eDurFloor:
		return durFloor(p, i)
	case eNativeAsset:
		return nativeAsset(p, i)
	case eEventTracker:
		return eventTracker(p, i)
	case eEventMethod:
		return eventMethod(p, i)
	case eNativeMime:
		return nativeMime(p, i)
	case eNativeProtocol:
		return nativeProtocol(p, i)
	}
	panic("BUG: unknown openrtb element kind")
}
