//! A byte-oriented range coder (32-bit range, carry propagation) with a tight termination.
//!
//! Probabilities are integer frequencies out of a power-of-two total, so both sides compute
//! exactly the same intervals with shifts and multiplications only. The encoder writes into a
//! caller-provided slice and keeps counting past its end, so rate control can ask "does this
//! fit?" without any extra buffer. The final flush picks, inside the last interval, the value
//! with the most trailing zero bits and then drops trailing zero bytes: the decoder reads
//! missing bytes as zeros, so they need not be sent. A code ends within about one byte of its
//! information content, which matters when the whole budget is 16 bytes.

/// Range below which the coder renormalises (shifts out a byte).
const TOP: u32 = 1 << 24;

/// Encoder writing into a borrowed buffer.
pub struct Encoder<'a> {
    out: &'a mut [u8],
    /// Bytes produced so far (may exceed `out.len()`).
    len: usize,
    /// One past the last non-zero byte produced: trailing zeros are never sent, so this, not
    /// `len`, decides whether the code fits.
    significant: usize,
    /// Lower end of the interval; bit 32 is a pending carry.
    low: u64,
    range: u32,
    /// Last byte not yet written, because a carry may still change it.
    cache: u8,
    /// Number of 0xFF bytes after `cache`, also waiting for a possible carry.
    pending: u32,
    /// Whether `cache` holds a real byte yet.
    has_cache: bool,
}

impl<'a> Encoder<'a> {
    /// A fresh encoder over `out`.
    pub fn new(out: &'a mut [u8]) -> Self {
        Encoder {
            out,
            len: 0,
            significant: 0,
            low: 0,
            range: u32::MAX,
            cache: 0,
            pending: 0,
            has_cache: false,
        }
    }

    /// Code a symbol occupying `[start, start + freq)` out of `1 << total_bits`.
    /// Requires `freq >= 1`, `start + freq <= 1 << total_bits`, `total_bits <= 16`.
    #[inline]
    pub fn encode(&mut self, start: u32, freq: u32, total_bits: u32) {
        let r = self.range >> total_bits;
        self.low += u64::from(start) * u64::from(r);
        self.range = freq * r;
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
    }

    /// Code the low `n` bits of `value` with probability 1/2 each (`n <= 16`).
    #[inline]
    pub fn encode_bits(&mut self, value: u32, n: u32) {
        if n > 0 {
            self.encode(value & ((1 << n) - 1), 1, n);
        }
    }

    /// True once the code has grown past the buffer.
    pub fn overflowed(&self) -> bool {
        self.significant > self.out.len()
    }

    fn emit(&mut self, byte: u8) {
        if let Some(slot) = self.out.get_mut(self.len) {
            *slot = byte;
        }
        self.len += 1;
        if byte != 0 {
            self.significant = self.len;
        }
    }

    fn shift_low(&mut self) {
        if self.low < 0xFF00_0000 || self.low > 0xFFFF_FFFF {
            let carry = (self.low >> 32) as u8;
            if self.has_cache {
                let byte = self.cache.wrapping_add(carry);
                self.emit(byte);
            }
            for _ in 0..self.pending {
                self.emit(0xFFu8.wrapping_add(carry));
            }
            self.pending = 0;
            self.cache = (self.low >> 24) as u8;
            self.has_cache = true;
        } else {
            self.pending += 1;
        }
        self.low = (self.low & 0x00FF_FFFF) << 8;
    }

    /// Terminate the code and return its length in bytes, or `None` if it does not fit in the
    /// buffer. A code is never empty: the all-zero code is the single byte 0.
    pub fn finish(mut self) -> Option<usize> {
        // Round `low` up to the multiple of the largest power of two still inside the interval.
        let high = self.low + u64::from(self.range);
        for k in (0..=32).rev() {
            let mask = (1u64 << k) - 1;
            let v = (self.low + mask) & !mask;
            if v < high {
                self.low = v;
                break;
            }
        }
        for _ in 0..5 {
            self.shift_low();
        }
        if self.overflowed() {
            return None;
        }
        if self.significant == 0 {
            *self.out.first_mut()? = 0;
            return Some(1);
        }
        Some(self.significant)
    }
}

/// Decoder over a byte slice; bytes past the end read as zero.
pub struct Decoder<'a> {
    input: &'a [u8],
    /// Next byte to read (may exceed `input.len()`).
    pos: usize,
    code: u32,
    range: u32,
}

impl<'a> Decoder<'a> {
    /// A decoder positioned at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        let mut d = Decoder {
            input,
            pos: 0,
            code: 0,
            range: u32::MAX,
        };
        for _ in 0..4 {
            d.code = (d.code << 8) | u32::from(d.next_byte());
        }
        d
    }

    fn next_byte(&mut self) -> u8 {
        let b = self.input.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// The frequency slot of the next symbol, in `0..1 << total_bits`. Follow with
    /// [`Decoder::consume`] for the symbol that owns the slot.
    #[inline]
    pub fn peek(&self, total_bits: u32) -> u32 {
        let r = self.range >> total_bits;
        // A corrupt stream can put `code` beyond the interval; clamp instead of trusting it.
        // `r` is at least 2^8 (range >= 2^24, total_bits <= 16); `max(1)` only tells the
        // compiler, which would otherwise link a division-by-zero panic.
        (self.code / r.max(1)).min((1 << total_bits) - 1)
    }

    /// Remove the symbol `[start, start + freq)` (the one whose interval holds `peek`).
    #[inline]
    pub fn consume(&mut self, start: u32, freq: u32, total_bits: u32) {
        let r = self.range >> total_bits;
        // start * r <= peek * r <= code, so this never underflows.
        self.code -= start * r;
        self.range = freq * r;
        while self.range < TOP {
            self.range <<= 8;
            self.code = (self.code << 8) | u32::from(self.next_byte());
        }
    }

    /// Read `n <= 16` equiprobable bits.
    #[inline]
    pub fn decode_bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n);
        self.consume(v, 1, n);
        v
    }

    /// True when the stream is consistent so far: a valid code keeps `code` inside the
    /// current interval.
    pub fn consistent(&self) -> bool {
        self.code < self.range
    }

    /// True when every byte of the input was needed. The decoder reads four bytes ahead of
    /// the symbols it has finished, so a code that was not cut by the encoder's flush leaves
    /// some bytes unread only if it carries trailing garbage.
    pub fn used_all_input(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// True when every byte the decoder has not read is zero: the padding of a code that
    /// fills a fixed-size slot (a layer of a scalable code).
    pub fn rest_is_zero(&self) -> bool {
        self.input
            .get(self.pos..)
            .is_none_or(|rest| rest.iter().all(|&b| b == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator for test data.
    fn lcg(s: &mut u64) -> u32 {
        *s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*s >> 33) as u32
    }

    /// Symbols with skewed frequencies over total 2^12.
    const CDF: [u32; 5] = [0, 3000, 3900, 4050, 4096];

    fn round_trip(symbols: &[usize], bits: &[(u32, u32)]) -> usize {
        let mut buf = [0u8; 4096];
        let mut enc = Encoder::new(&mut buf);
        for (&s, &(v, n)) in symbols.iter().zip(bits.iter().cycle()) {
            enc.encode(CDF[s], CDF[s + 1] - CDF[s], 12);
            enc.encode_bits(v, n);
        }
        let len = enc.finish().expect("fits");
        let mut dec = Decoder::new(&buf[..len]);
        for (&s, &(v, n)) in symbols.iter().zip(bits.iter().cycle()) {
            let slot = dec.peek(12);
            let got = CDF.windows(2).position(|w| slot < w[1]).unwrap();
            assert_eq!(got, s);
            dec.consume(CDF[got], CDF[got + 1] - CDF[got], 12);
            assert_eq!(dec.decode_bits(n), v & ((1 << n) - 1));
            assert!(dec.consistent());
        }
        assert!(dec.used_all_input());
        len
    }

    #[test]
    fn round_trips_random_sequences() {
        let mut s = 1u64;
        let repeats = if cfg!(miri) { 2 } else { 50 };
        for len in [0usize, 1, 2, 5, 17, 100, 1000] {
            for _ in 0..repeats {
                let syms: Vec<usize> = (0..len)
                    .map(|_| {
                        let v = lcg(&mut s) % 4096;
                        CDF.windows(2).position(|w| v < w[1]).unwrap()
                    })
                    .collect();
                let bits: Vec<(u32, u32)> =
                    (0..7).map(|_| (lcg(&mut s), lcg(&mut s) % 17)).collect();
                round_trip(&syms, &bits);
            }
        }
    }

    #[test]
    fn termination_is_tight() {
        // 1000 symbols of the most likely kind carry about 1000 * log2(4096/3000) = 449 bits.
        let syms = vec![0usize; 1000];
        let len = round_trip(&syms, &[(0, 0)]);
        let info_bits = 1000.0 * (4096.0f64 / 3000.0).log2();
        assert!(
            (len as f64) <= info_bits / 8.0 + 2.0,
            "len {len} for {info_bits} bits"
        );
    }

    #[test]
    fn empty_code_is_one_zero_byte() {
        let mut buf = [0xAAu8; 8];
        let enc = Encoder::new(&mut buf);
        assert_eq!(enc.finish(), Some(1));
        assert_eq!(buf[0], 0);
    }

    #[test]
    fn overflow_is_reported() {
        let mut buf = [0u8; 4];
        let mut enc = Encoder::new(&mut buf);
        for i in 0..100 {
            enc.encode_bits(i, 8);
        }
        assert!(enc.overflowed());
        assert_eq!(enc.finish(), None);
    }

    #[test]
    fn carries_propagate() {
        // Symbols at the very top of the range force long runs of 0xFF and carries.
        let mut s = 9u64;
        for _ in 0..if cfg!(miri) { 3 } else { 200 } {
            let syms: Vec<usize> = (0..300)
                .map(|_| if lcg(&mut s) % 50 == 0 { 0 } else { 3 })
                .collect();
            round_trip(&syms, &[(0, 0)]);
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut s = 3u64;
        for len in 0..64 {
            let input: Vec<u8> = (0..len).map(|_| lcg(&mut s) as u8).collect();
            let mut dec = Decoder::new(&input);
            for _ in 0..if cfg!(miri) { 20 } else { 500 } {
                let slot = dec.peek(12);
                let sym = CDF.windows(2).position(|w| slot < w[1]).unwrap();
                dec.consume(CDF[sym], CDF[sym + 1] - CDF[sym], 12);
                let _ = dec.decode_bits(16);
            }
        }
    }
}
