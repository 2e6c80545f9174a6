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

func (p *parser) field(k fieldKind, key []byte) error {
	switch k {
	case kAppField:
		return appField(p, key)
	case kAppPublisherField:
		return appPublisherField(p, key)
	case kAudioField:
		return audioField(p, key)
	case kBannerField:
		return bannerField(p, key)
	case kDealField:
		return dealField(p, key)
	case kDurFloorField:
		return durFloorField(p, key)
	case kDeviceField:
		return deviceField(p, key)
	case kEidField:
		return eidField(p, key)
	case kFormatField:
		return formatField(p, key)
	case kGeoField:
		return geoField(p, key)
	case kImpField:
		return impField(p, key)
	case kMetricField:
		return metricField(p, key)
	case kNativeField:
		return nativeField(p, key)
	case kNativeReqField:
		return nativeReqField(p, key)
	case kNativeAssetField:
		return nativeAssetField(p, key)
	case kNativeTitleField:
		return nativeTitleField(p, key)
	case kNativeImgField:
		return nativeImgField(p, key)
	case kNativeDataField:
		return nativeDataField(p, key)
	case kNativeVideoField:
		return nativeVideoField(p, key)
	case kEventTrackerField:
		return eventTrackerField(p, key)
	case kQtyField:
		return qtyField(p, key)
	case kPmpField:
		return pmpField(p, key)
	case kRegsDSAField:
		return regsDSAField(p, key)
	case kRegsExtField:
		return regsExtField(p, key)
	case kRegsField:
		return regsField(p, key)
	case kSchainField:
		return schainField(p, key)
	case kSegmentField:
		return segmentField(p, key)
	case kSiteField:
		return siteField(p, key)
	case kSitePublisherField:
		return sitePublisherField(p, key)
	case kSkipField:
		return skipField(p, key)
	case kSourceExtField:
		return sourceExtField(p, key)
	case kSourceField:
		return sourceField(p, key)
	case kUidField:
		return uidField(p, key)
	case kUserDataField:
		return userDataField(p, key)
	case kUserExtField:
		return userExtField(p, key)
	case kUserField:
		return userField(p, key)
	case kVideoField:
		return videoField(p, key)
	}
	panic("BUG: unknown openrtb field kind")
}

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
