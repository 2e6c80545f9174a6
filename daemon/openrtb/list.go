package openrtb

// Helpers that read JSON arrays into reused slices. Each clears and truncates
// dst first (so a repeated key replaces the earlier value), keeps its
// capacity, and fails beyond maxTexts or maxInts elements. A null reads as an empty list.

// texts reads an array of strings. A lone string is accepted as a list of
// one, as some exchanges send "cur":"USD".
func (p *parser) texts(dst [][]byte, what string) ([][]byte, error) {
	clear(dst)
	dst = dst[:0]
	switch p.ws() {
	case 'n':
		return dst, p.literal("null")
	case '"':
		s, err := p.str()
		return append(dst, s), err
	case '[':
		// A list of one plain string, as "cur":["USD"] and
		// "mimes":["video/mp4"] mostly are, inline; pretty-printed,
		// with the newline and indentation before the string and ']'.
		b, k := p.b, p.i+1
		if at(b, k) == '\n' {
			k = indentEnd(b, k+1)
		}
		if at(b, k) == '"' {
			if j := quoteEnd(b, k+1); j >= 0 {
				e := j + 1
				if at(b, e) == '\n' {
					e = indentEnd(b, e+1)
				}
				if at(b, e) == ']' && p.depth < MaxDepth {
					p.i = e + 1
					return append(dst, b[k+1:j:j]), nil
				}
			}
		}
	}
	if err := p.enter('[', "expected array of strings"); err != nil {
		return dst, err
	}
	for first := true; ; first = false {
		more, err := p.nextElem(first)
		if !more { // err, if any, comes with more=false
			return dst, err
		}
		if len(dst) >= maxTexts {
			return dst, p.tooMany(what)
		}
		s, err := p.text()
		if err != nil {
			return dst, err
		}
		if s != nil {
			dst = append(dst, s)
		}
	}
}

// ints reads an array of integers (elements may be strings or floats).
func (p *parser) ints(dst []int, what string) ([]int, error) {
	dst = dst[:0]
	if p.null() {
		return dst, nil
	}
	if b, i := p.b, p.i; at(b, i) == '[' && p.depth < MaxDepth {
		// A list of small integers ("protocols":[7,8], "rqddurs":[15]),
		// compact or with a pretty printer's newlines and indentation,
		// inline; anything else, from the start of the list again, on
		// the general path.
		for j := i + 1; len(dst) < maxInts; {
			if at(b, j) == '\n' {
				j = indentEnd(b, j+1)
			}
			v, k := 0, j
			for c := at(b, k); c-'0' < 10 && k-j < 4; c = at(b, k) {
				v = v*10 + int(c-'0')
				k++
			}
			if k == j || k-j == 4 || (b[j] == '0' && k-j > 1) {
				break
			}
			e := at(b, k)
			if e == '\n' {
				if k = indentEnd(b, k+1); at(b, k) != ']' {
					break
				}
				e = ']'
			}
			if e != ',' && e != ']' {
				break
			}
			dst = append(dst, v)
			if j = k + 1; e == ']' {
				p.i = j
				return dst, nil
			}
		}
		dst = dst[:0]
	}
	if err := p.enter('[', "expected array of numbers"); err != nil {
		return dst, err
	}
	for first := true; ; first = false {
		more, err := p.nextElem(first)
		if !more { // err, if any, comes with more=false
			return dst, err
		}
		if len(dst) >= maxInts {
			return dst, p.tooMany(what)
		}
		v, err := p.int()
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
}

// object iterates over the keys of an object, dispatching each to the
// function of field (which must consume the value); see dispatch.go. It
// returns present=false for null, which is an absent object. The switch is
// here rather than in a method of its own: a call less for every key.
func (p *parser) object(what string, field fieldKind) (bool, error) {
	// open, inline for the common case: the '{' right there.
	if i := p.i; at(p.b, i) == '{' && p.depth < MaxDepth {
		p.i = i + 1
		p.depth++
	} else if present, err := p.openSlow('{', what); !present {
		return false, err
	}
	for first := true; ; first = false {
		key, more, err := p.nextKey(first)
		if !more { // err, if any, comes with more=false
			return true, err
		}
		switch field {
		case kAppField:
			err = appField(p, key)
		case kAppPublisherField:
			err = appPublisherField(p, key)
		case kAudioField:
			err = audioField(p, key)
		case kBannerField:
			err = bannerField(p, key)
		case kDealField:
			err = dealField(p, key)
		case kDurFloorField:
			err = durFloorField(p, key)
		case kDeviceField:
			err = deviceField(p, key)
		case kEidField:
			err = eidField(p, key)
		case kFormatField:
			err = formatField(p, key)
		case kGeoField:
			err = geoField(p, key)
		case kImpField:
			err = impField(p, key)
		case kMetricField:
			err = metricField(p, key)
		case kNativeField:
			err = nativeField(p, key)
		case kNativeReqField:
			err = nativeReqField(p, key)
		case kNativeAssetField:
			err = nativeAssetField(p, key)
		case kNativeTitleField:
			err = nativeTitleField(p, key)
		case kNativeImgField:
			err = nativeImgField(p, key)
		case kNativeDataField:
			err = nativeDataField(p, key)
		case kNativeVideoField:
			err = nativeVideoField(p, key)
		case kEventTrackerField:
			err = eventTrackerField(p, key)
		case kQtyField:
			err = qtyField(p, key)
		case kPmpField:
			err = pmpField(p, key)
		case kRegsDSAField:
			err = regsDSAField(p, key)
		case kRegsExtField:
			err = regsExtField(p, key)
		case kRegsField:
			err = regsField(p, key)
		case kSchainField:
			err = schainField(p, key)
		case kSegmentField:
			err = segmentField(p, key)
		case kSiteField:
			err = siteField(p, key)
		case kSitePublisherField:
			err = sitePublisherField(p, key)
		case kSkipField:
			err = skipField(p, key)
		case kSourceExtField:
			err = sourceExtField(p, key)
		case kSourceField:
			err = sourceField(p, key)
		case kUidField:
			err = uidField(p, key)
		case kUserDataField:
			err = userDataField(p, key)
		case kUserExtField:
			err = userExtField(p, key)
		case kUserField:
			err = userField(p, key)
		case kVideoField:
			err = videoField(p, key)
		default:
			panic("BUG: unknown openrtb field kind")
		}
		if err != nil {
			return true, err
		}
	}
}

// openSlow is open out of line, for object's uncommon case: inlined, its
// error paths would grow object's frame and code.
//
//go:noinline
func (p *parser) openSlow(open byte, what string) (bool, error) {
	return p.open(open, what)
}

// array iterates over the elements of an array, dispatching each to elem;
// a null is an empty array.
func (p *parser) array(what string, elem elemKind) error {
	if present, err := p.open('[', what); !present {
		return err
	}
	for i := 0; ; i++ {
		more, err := p.nextElem(i == 0)
		if !more { // err, if any, comes with more=false
			return err
		}
		if err := p.elem(elem, i); err != nil {
			return err
		}
	}
}

// ext reads an "ext" object with field, or skips the value when it is not an
// object: ext is free-form and some exchanges send strings there.
func (p *parser) ext(field fieldKind) error {
	if p.ws() != '{' {
		return p.skip()
	}
	_, err := p.object("", field)
	return err
}

// lenientObject reads an optional object that some exchanges (or their
// loggers) overwrite with another type: a non-object is skipped as absent.
func (p *parser) lenientObject(field fieldKind) (bool, error) {
	if p.ws() != '{' {
		return false, p.skip()
	}
	return p.object("", field)
}
