//! RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) for RS256, RS384 and RS512.
//!
//! `s^e mod n` by Montgomery multiplication over 32-bit limbs: 64-bit products are native in
//! wasm32 where 128-bit ones are not, and squarings (16 of the 17 steps for e = 65537) have their
//! own routine. The result is compared with the whole expected encoding, byte for byte, never
//! parsed: that is what stops forgeries with garbage after the hash (Bleichenbacher 2006, e = 3).
//! Key, signature and message are all public, so nothing here needs to be constant-time.

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The largest public exponent taken: the rsa crate's (which jwt-simple used) limit.
const MAX_E: u64 = (1 << 33) - 1;
/// RFC 8017 9.2: at least 8 bytes of 0xFF padding.
const MIN_PADDING: usize = 8;
const LIMB_BYTES: usize = 4;

/// The hash of an RS algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// DER of the DigestInfo before the hash value (RFC 8017 9.2, note 1).
    fn digest_info(self) -> &'static [u8] {
        match self {
            Hash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Hash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Hash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(message).to_vec(),
            Hash::Sha384 => Sha384::digest(message).to_vec(),
            Hash::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// An RSA public key with what every verification needs computed once.
pub(crate) struct RsaPublicKey {
    /// The modulus, little-endian 32-bit limbs, the top one non-zero.
    n: Vec<u32>,
    /// `-n^-1 mod 2^32`.
    n0: u32,
    /// `R^2 mod n` with `R = 2^(32 * limbs)`: a Montgomery product with it brings a number in.
    rr: Vec<u32>,
    /// The public exponent, big-endian without leading zeros.
    e: Vec<u8>,
    /// Length of the modulus in bytes: of every signature and encoding.
    k: usize,
}

impl RsaPublicKey {
    /// A key from the big-endian `n` and `e` of a JWK. Takes what the rsa crate took (an odd
    /// `n`; an odd `e` from 3 to 2^33 - 1, below `n`); the caller bounds the size of `n`.
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, &'static str> {
        let (n, e) = (strip_leading_zeros(n), strip_leading_zeros(e));
        if n.last().is_none_or(|low| low & 1 == 0) {
            return Err("n is even");
        }
        if e.len() > 8 {
            return Err("e is too large");
        }
        let e_value = e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        if e_value & 1 == 0 {
            return Err("e is even");
        }
        if e_value < 3 {
            return Err("e is too small");
        }
        if e_value > MAX_E {
            return Err("e is too large");
        }
        if n.len() <= 8 && n.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) <= e_value {
            return Err("e is not below n");
        }
        let k = n.len();
        let n = limbs(n, k.div_ceil(LIMB_BYTES));
        let low = n.first().copied().unwrap_or(1);
        // Newton's iteration doubles the correct low bits: 3 (any odd x is its own inverse
        // mod 8), 6, 12, 24, 48.
        let inverse =
            (0..4).fold(low, |x, _| x.wrapping_mul(2u32.wrapping_sub(low.wrapping_mul(x))));
        let mut key =
            RsaPublicKey { n, n0: inverse.wrapping_neg(), rr: Vec::new(), e: e.to_vec(), k };
        key.rr = key.r_squared().ok_or("n is malformed")?;
        Ok(key)
    }

    /// RSASSA-PKCS1-v1_5-VERIFY: whether `signature` is this key's signature of `message`.
    pub(crate) fn verify_pkcs1v15(&self, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
        match (self.recover(signature), encode(hash, message, self.k)) {
            (Some(em), Some(expected)) => em == expected,
            _ => false,
        }
    }

    /// The encoding a signature carries: `s^e mod n` as `k` big-endian bytes; `None` when `s`
    /// is not `k` bytes or not below `n`.
    pub(crate) fn recover(&self, signature: &[u8]) -> Option<Vec<u8>> {
        self.pow_bytes(signature, &self.e)
    }

    /// `base^exponent mod n` over big-endian bytes, `base` exactly `k` bytes and below `n`.
    /// Verification raises to `e`; the tests also sign, with a private exponent.
    pub(crate) fn pow_bytes(&self, base: &[u8], exponent: &[u8]) -> Option<Vec<u8>> {
        if base.len() != self.k {
            return None;
        }
        let base = limbs(base, self.n.len());
        if cmp(&base, &self.n) != std::cmp::Ordering::Less {
            return None;
        }
        let m = self.pow(&base, strip_leading_zeros(exponent))?;
        let bytes: Vec<u8> = m.iter().rev().flat_map(|limb| limb.to_be_bytes()).collect();
        let (high, em) = bytes.split_at_checked(bytes.len().checked_sub(self.k)?)?;
        high.iter().all(|b| *b == 0).then(|| em.to_vec())
    }

    /// Left-to-right square-and-multiply in Montgomery form: in with `R^2`, out by a reduction.
    fn pow(&self, base: &[u32], exponent: &[u8]) -> Option<Vec<u32>> {
        let l = self.n.len();
        let mut base_m = vec![0; l];
        self.mul(base, &self.rr, &mut base_m)?;
        let mut bits =
            exponent.iter().flat_map(|byte| (0..8).rev().map(move |i| (byte >> i) & 1 == 1));
        // Skip to the top set bit; an exponent of zero has none.
        bits.find(|bit| *bit)?;
        let mut x = base_m.clone();
        let mut next = vec![0; l];
        let mut wide = vec![0; 2 * l];
        for bit in bits {
            self.square(&x, &mut next, &mut wide)?;
            std::mem::swap(&mut x, &mut next);
            if bit {
                self.mul(&x, &base_m, &mut next)?;
                std::mem::swap(&mut x, &mut next);
            }
        }
        wide.fill(0);
        for (w, limb) in wide.iter_mut().zip(&x) {
            *w = *limb;
        }
        self.reduce(&mut wide, &mut next)?;
        Some(next)
    }

    /// `R^2 mod n`: `R mod n` by doubling from the top bit of `n`, doubled on to `2^t * R`,
    /// then squared `s` times in Montgomery form, where `32 * limbs = t * 2^s`.
    fn r_squared(&self) -> Option<Vec<u32>> {
        let l = self.n.len();
        let top = self.n.last()?;
        let bits = 32 * l - top.leading_zeros() as usize;
        // 2^(bits - 1), below n: n is odd and has that bit.
        let mut x = vec![0u32; l];
        *x.last_mut()? = 1 << ((bits - 1) % 32);
        let total = 32 * l;
        let s = total.trailing_zeros();
        let t = total >> s;
        for _ in 0..(total - (bits - 1) + t) {
            self.double(&mut x);
        }
        let mut next = vec![0; l];
        let mut wide = vec![0; 2 * l];
        for _ in 0..s {
            self.square(&x, &mut next, &mut wide)?;
            std::mem::swap(&mut x, &mut next);
        }
        Some(x)
    }

    /// `x = 2x mod n`, for `x < n`.
    fn double(&self, x: &mut [u32]) {
        let mut carry = 0;
        for limb in x.iter_mut() {
            let shifted = (*limb << 1) | carry;
            carry = *limb >> 31;
            *limb = shifted;
        }
        self.subtract_if_not_below(x, u64::from(carry));
    }

    /// `out = a * b / R mod n`, for `a, b < n` (CIOS: each row multiplied and reduced at once).
    fn mul(&self, a: &[u32], b: &[u32], out: &mut [u32]) -> Option<()> {
        let (b0, b_rest) = b.split_first()?;
        let (n_low, n_rest) = self.n.split_first()?;
        out.fill(0);
        let (t0, t_rest) = out.split_first_mut()?;
        // The accumulator is `out` plus this word (and a bit above it).
        let mut top: u64 = 0;
        for &ai in a {
            let ai = u64::from(ai);
            let sum = u64::from(*t0) + ai * u64::from(*b0);
            let mut carry = sum >> 32;
            let m = u64::from((sum as u32).wrapping_mul(self.n0));
            // The low word of this sum is zero: that is what m is for.
            let mut carry_n = (u64::from(sum as u32) + m * u64::from(*n_low)) >> 32;
            let mut previous = &mut *t0;
            for ((tj, &bj), &nj) in t_rest.iter_mut().zip(b_rest).zip(n_rest) {
                let sum = (ai * u64::from(bj) + u64::from(*tj)) + carry;
                carry = sum >> 32;
                let reduced = (m * u64::from(nj) + carry_n) + u64::from(sum as u32);
                carry_n = reduced >> 32;
                *previous = reduced as u32;
                previous = tj;
            }
            let sum = (top & 0xffff_ffff) + carry;
            let above = (top >> 32) + (sum >> 32);
            let reduced = (sum & 0xffff_ffff) + carry_n;
            *previous = reduced as u32;
            top = above + (reduced >> 32);
        }
        self.subtract_if_not_below(out, top);
        Some(())
    }

    /// `out = a^2 / R mod n`, for `a < n`: the cross products once, doubled, the squares added,
    /// then reduced.
    fn square(&self, a: &[u32], out: &mut [u32], wide: &mut [u32]) -> Option<()> {
        wide.fill(0);
        // Row i adds a[i] * a[i+1..] at wide[2i+1..] and puts its carry at wide[i + limbs]. Rows
        // go in pairs, the second two words behind the first, for two carry chains per loop
        // (see `reduce_two_rows`); with an odd count the last row has no products.
        let mut rest = a;
        let mut row: &mut [u32] = wide.get_mut(1..)?;
        while let [ai, ai1, tail @ ..] = rest {
            let (ai, ai1) = (u64::from(*ai), u64::from(*ai1));
            let first = row.first_mut()?;
            let sum = ai * ai1 + u64::from(*first);
            *first = sum as u32;
            let mut carry = sum >> 32;
            if let Some((&t0, _)) = tail.split_first() {
                let len = tail.len();
                let second = row.get_mut(1)?;
                let sum = (ai * u64::from(t0) + u64::from(*second)) + carry;
                *second = sum as u32;
                carry = sum >> 32;
                let mut carry2 = 0;
                let both = row.get_mut(2..=len)?.iter_mut().zip(tail.get(1..)?).zip(tail);
                for ((slot, &x), &y) in both {
                    let sum = (ai * u64::from(x) + u64::from(*slot)) + carry;
                    carry = sum >> 32;
                    let sum2 = (ai1 * u64::from(y) + u64::from(sum as u32)) + carry2;
                    carry2 = sum2 >> 32;
                    *slot = sum2 as u32;
                }
                // Row i's carry and row i+1's last product, then row i+1's carry.
                let sum2 = (ai1 * u64::from(*tail.last()?) + carry) + carry2;
                *row.get_mut(len + 1)? = sum2 as u32;
                *row.get_mut(len + 2)? = (sum2 >> 32) as u32;
            } else {
                *row.get_mut(1)? = carry as u32;
            }
            rest = tail;
            row = std::mem::take(&mut row).get_mut(4..).unwrap_or_default();
        }
        // Double, and add the squares a[i]^2 at wide[2i].
        let (mut shifted_out, mut carry) = (0, 0);
        for (pair, &ai) in wide.chunks_exact_mut(2).zip(a) {
            if let [low, high] = pair {
                let square = u64::from(ai) * u64::from(ai);
                let low2 = (*low << 1) | shifted_out;
                let high2 = (*high << 1) | (*low >> 31);
                shifted_out = *high >> 31;
                let sum = u64::from(low2) + (square & 0xffff_ffff) + carry;
                *low = sum as u32;
                let sum = u64::from(high2) + (square >> 32) + (sum >> 32);
                *high = sum as u32;
                carry = sum >> 32;
            }
        }
        self.reduce(wide, out)
    }

    /// Montgomery reduction: `out = wide / R mod n`, for `wide < n * R` (2 * limbs words).
    fn reduce(&self, wide: &mut [u32], out: &mut [u32]) -> Option<()> {
        let l = self.n.len();
        // The carry out of the last row's top word, owed to the word above it.
        let mut owed = 0;
        let mut window: &mut [u32] = wide;
        for _ in 0..l / 2 {
            owed = self.reduce_two_rows(window.get_mut(..l + 2)?, owed)?;
            window = std::mem::take(&mut window).get_mut(2..)?;
        }
        if l % 2 == 1 {
            let m = u64::from(window.first()?.wrapping_mul(self.n0));
            let mut carry = 0;
            let (row, above) = window.split_at_mut_checked(l)?;
            for (slot, &nj) in row.iter_mut().zip(&self.n) {
                let sum = (m * u64::from(nj) + u64::from(*slot)) + carry;
                *slot = sum as u32;
                carry = sum >> 32;
            }
            let last = above.first_mut()?;
            let sum = u64::from(*last) + carry + owed;
            *last = sum as u32;
            owed = sum >> 32;
        }
        for (o, w) in out.iter_mut().zip(wide.get(l..)?) {
            *o = *w;
        }
        self.subtract_if_not_below(out, owed);
        Some(())
    }

    /// Two rows of the reduction over `w` (limbs + 2 words), the second a word behind the
    /// first: two carry chains in one loop, each waiting on its own adds only, run about twice
    /// as fast as one. `owed` is carried into `w[limbs]`; returns what is owed to the word above.
    fn reduce_two_rows(&self, w: &mut [u32], owed: u64) -> Option<u64> {
        let n = self.n.as_slice();
        let [w0, w1, middle @ .., top, above] = w else { return None };
        let (n0, n1, n_last) = (u64::from(*n.first()?), u64::from(*n.get(1)?), *n.last()?);
        let m = u64::from(w0.wrapping_mul(self.n0));
        // Zero low words: that is what m and m2 are for.
        let mut carry = (m * n0 + u64::from(*w0)) >> 32;
        let sum = (m * n1 + u64::from(*w1)) + carry;
        carry = sum >> 32;
        let m2 = u64::from((sum as u32).wrapping_mul(self.n0));
        let mut carry2 = (m2 * n0 + u64::from(sum as u32)) >> 32;
        for ((slot, &nj), &nj_1) in middle.iter_mut().zip(n.get(2..)?).zip(n.get(1..)?) {
            let sum = (m * u64::from(nj) + u64::from(*slot)) + carry;
            carry = sum >> 32;
            let sum2 = (m2 * u64::from(nj_1) + u64::from(sum as u32)) + carry2;
            carry2 = sum2 >> 32;
            *slot = sum2 as u32;
        }
        let sum = u64::from(*top) + carry + owed;
        let sum2 = (m2 * u64::from(n_last) + u64::from(sum as u32)) + carry2;
        *top = sum2 as u32;
        let last = u64::from(*above) + (sum2 >> 32) + (sum >> 32);
        *above = last as u32;
        Some(last >> 32)
    }

    /// `x = x - n` when `x + top * R >= n`; every caller's value is below `2n`.
    fn subtract_if_not_below(&self, x: &mut [u32], top: u64) {
        if top == 0 && cmp(x, &self.n) == std::cmp::Ordering::Less {
            return;
        }
        let mut borrow = 0;
        for (limb, &nj) in x.iter_mut().zip(&self.n) {
            let (diff, b1) = limb.overflowing_sub(nj);
            let (diff, b2) = diff.overflowing_sub(borrow);
            *limb = diff;
            borrow = u32::from(b1 | b2);
        }
    }
}

/// EMSA-PKCS1-v1_5 (RFC 8017 9.2): `00 01 FF..FF 00 || DigestInfo || H(message)`, `k` bytes;
/// `None` when `k` leaves fewer than 8 bytes of padding.
fn encode(hash: Hash, message: &[u8], k: usize) -> Option<Vec<u8>> {
    let (prefix, digest) = (hash.digest_info(), hash.digest(message));
    let padding = k.checked_sub(3 + prefix.len() + digest.len())?;
    if padding < MIN_PADDING {
        return None;
    }
    let mut em = Vec::with_capacity(k);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + padding, 0xff);
    em.push(0x00);
    em.extend_from_slice(prefix);
    em.extend_from_slice(&digest);
    Some(em)
}

/// Big-endian bytes as `count` little-endian limbs; bytes beyond `count` limbs are dropped
/// (callers pass at most that many).
fn limbs(bytes: &[u8], count: usize) -> Vec<u32> {
    bytes
        .rchunks(LIMB_BYTES)
        .map(|chunk| chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
        .chain(std::iter::repeat(0))
        .take(count)
        .collect()
}

/// Compares two numbers of as many limbs.
fn cmp(a: &[u32], b: &[u32]) -> std::cmp::Ordering {
    a.iter().rev().cmp(b.iter().rev())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}
