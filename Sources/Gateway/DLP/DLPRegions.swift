import Foundation

extension DLPDetectors {
    /// One detector: its regular expression, a check of each match, and what lets a scan
    /// skip most of a text. ICU reads a Swift string through a slow bridge, so the regex
    /// runs only on the stretches of text where a match can be: around an anchor (`@` for
    /// emails), or on the runs of characters a number is made of; a text with fewer digits
    /// than any match holds is not scanned at all. Every shortcut is exact: a match lies
    /// wholly inside a stretch, and the regex sees past its edges (transparent bounds).
    struct Detector: @unchecked Sendable {
        /// The characters a match may consist of, when it is all of one class.
        enum RunClass: Sendable {
            /// Digits, whitespace and `- . ( ) +` (phone and card numbers, SSNs, IPv4).
            case number
            /// Those and upper-case letters (IBANs).
            case upperAlphanumeric
        }

        /// The placeholder label: `[EMAIL_1]`.
        let label: String
        let regex: NSRegularExpression
        let validate: @Sendable (String) -> Bool
        /// Literal text (lower case) every match contains.
        let anchors: [String]
        /// ASCII digits every match holds at least.
        let digitsMin: Int
        /// The class every match's characters belong to, if any.
        let runs: RunClass?
        private let needles: [[UInt8]]
        /// Whether an ASCII code unit (lower-cased) starts a needle.
        private let startsNeedle: [Bool]

        init(
            label: String, regex: NSRegularExpression, validate: @escaping @Sendable (String) -> Bool, anchors: [String] = [], digitsMin: Int = 0,
            runs: RunClass? = nil
        ) {
            self.label = label
            self.regex = regex
            self.validate = validate
            self.anchors = anchors
            self.digitsMin = digitsMin
            self.runs = runs
            needles = anchors.map { Array($0.utf8) }
            var starts = [Bool](repeating: false, count: 128)
            for needle in needles { if let first = needle.first, first < 128 { starts[Int(first)] = true } }
            startsNeedle = starts
        }

        /// False when `profile` shows no match can be in the text.
        func mayMatch(_ profile: TextProfile) -> Bool {
            !profile.isASCII || profile.digits >= digitsMin
        }

        /// Where in `text` (code units: UTF-8 of an ASCII text, else UTF-16) the regex must
        /// look: around each anchor, its word and a word or two more on each side, or the runs of `runs` characters that hold a digit (ASCII
        /// only), or else the whole text.
        func regions<Units: RandomAccessCollection>(in text: Units, isASCII: Bool) -> [NSRange] where Units.Element: BinaryInteger, Units.Index == Int {
            if !anchors.isEmpty { return anchorRegions(in: text) }
            if let runs, isASCII { return runRegions(in: text, runs) }
            return [NSRange(location: 0, length: text.count)]
        }

        /// One pass: each hit's word is found once (a later hit in the same word adds
        /// nothing), so a text of one long word full of anchors costs no more than its length.
        private func anchorRegions<Units: RandomAccessCollection>(in text: Units) -> [NSRange] where Units.Element: BinaryInteger, Units.Index == Int {
            var regions: [NSRange] = []
            var index = 0, hitWordEnd = 0
            let count = text.count
            while index < count {
                let unit = Self.lower(text[index])
                guard unit < 128, startsNeedle[Int(unit)], index >= hitWordEnd else {
                    index += 1
                    continue
                }
                let hit = needles.first { needle in
                    index + needle.count <= count && needle.indices.allSatisfy { Self.lower(text[index + $0]) == UInt32(needle[$0]) }
                }
                guard let hit else {
                    index += 1
                    continue
                }
                // Out to whitespace, and one more word on each side for `key = value` forms.
                // A start before the last region's end only merges, so the walk back stops there.
                let lastEnd = regions.last.map { $0.location + $0.length } ?? 0
                let start = Self.extend(text, from: index, step: -1, words: 2, stoppingAt: lastEnd)
                hitWordEnd = Self.extend(text, from: index + hit.count, step: 1, words: 0)
                let end = Self.extend(text, from: hitWordEnd, step: 1, words: 3)
                if !regions.isEmpty, start <= lastEnd {
                    regions[regions.count - 1].length = max(lastEnd, end) - regions[regions.count - 1].location
                } else {
                    regions.append(NSRange(location: start, length: end - start))
                }
                index += 1
            }
            return regions
        }

        private func runRegions<Units: RandomAccessCollection>(in text: Units, _ runs: RunClass) -> [NSRange] where Units.Element: BinaryInteger, Units.Index == Int {
            var regions: [NSRange] = []
            var index = 0
            let count = text.count
            while index < count {
                guard Self.belongs(UInt32(truncatingIfNeeded: text[index]), to: runs) else {
                    index += 1
                    continue
                }
                var end = index, digits = false
                while end < count, Self.belongs(UInt32(truncatingIfNeeded: text[end]), to: runs) {
                    if (48...57).contains(text[end]) { digits = true }
                    end += 1
                }
                if digits { regions.append(NSRange(location: index, length: end - index)) }
                index = end
            }
            return regions
        }

        private static func belongs(_ c: UInt32, to runs: RunClass) -> Bool {
            switch c {
            case 48...57, 9...13, 28...32, 40, 41, 43, 45, 46: true  // digits, whitespace, ( ) + - .
            case 65...90: runs == .upperAlphanumeric
            default: false
            }
        }

        private static func lower<Unit: BinaryInteger>(_ c: Unit) -> UInt32 {
            let value = UInt32(truncatingIfNeeded: c)
            return (65...90).contains(value) ? value | 0x20 : value
        }

        private static func isSpace<Unit: BinaryInteger>(_ c: Unit) -> Bool { c == 32 || c == 9 || c == 10 || c == 13 }

        /// From `from`, to the edge of its word, then past `words` more words (a run of
        /// whitespace separates once, however long); walking back, never past `stoppingAt`.
        private static func extend<Units: RandomAccessCollection>(
            _ text: Units, from: Int, step: Int, words: Int, stoppingAt limit: Int = 0
        ) -> Int where Units.Element: BinaryInteger, Units.Index == Int {
            var position = from, left = words, inSpace = false
            while true {
                let next = step < 0 ? position - 1 : position
                guard next >= 0 && next < text.count && !(step < 0 && position <= limit) else { break }
                let space = isSpace(text[next])
                if space && !inSpace {
                    if left == 0 { break }
                    left -= 1
                }
                inSpace = space
                position += step
            }
            return position
        }
    }

    /// What one pass over a text learns, for detectors to skip a text they cannot match.
    struct TextProfile {
        var isASCII = true
        var digits = 0

        init(_ text: some Sequence<UInt8>) {
            for unit in text {
                if unit >= 128 { isASCII = false } else if unit >= 48 && unit <= 57 { digits += 1 }
            }
        }
    }
}
