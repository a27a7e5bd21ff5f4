//! Decoder gains (format version 5): the leading coefficients of a decoded code are scaled by
//! the gain of their class; the encoder and the codes do not change.

mod common;

use codec_core::internals::MAX_COEFFS;
use codec_core::internals::decode_coefficients;
use codec_core::internals::{ModelInternals, StepGrid};
use codec_core::{Model, ModelError, decode, encode};
use codec_core::{decode_scalable, encode_scalable, scalable_len};

const LEADING: usize = 6;
const GAIN: u16 = 29000;

fn spec(gains: Option<(usize, u16)>) -> common::Spec {
    common::Spec {
        gains,
        ..common::small(true, common::DEFAULT_GROWTH)
    }
}

/// The test model without gains, and the same with gains on the first [`LEADING`] coefficients.
fn models() -> (Vec<u8>, Vec<u8>) {
    (
        common::build(&spec(None)),
        common::build(&spec(Some((LEADING, GAIN)))),
    )
}

#[test]
fn codes_are_the_same_and_leading_coefficients_shrink_by_their_class_gain() {
    let (plain_bytes, gained_bytes) = models();
    let plain = Model::parse(&plain_bytes).unwrap();
    let gained = Model::parse(&gained_bytes).unwrap();
    assert_eq!(gained.format_version(), 1);
    assert_eq!(gained.gain_coeffs(), LEADING);
    let mut shrunk = 0;
    for x in common::vectors(5, 30) {
        for budget in [16, 32, 64] {
            let (mut a, mut b) = (vec![0u8; budget], vec![0u8; budget]);
            let la = encode(&plain, &x, budget, &mut a).unwrap();
            let lb = encode(&gained, &x, budget, &mut b).unwrap();
            assert_eq!(a[..la], b[..lb], "the encoder does not see the gains");
            let (mut ya, mut yb) = ([0i32; MAX_COEFFS], [0i32; MAX_COEFFS]);
            let step = decode_coefficients(&plain, &a[..la], &mut ya).unwrap();
            assert_eq!(
                decode_coefficients(&gained, &b[..lb], &mut yb).unwrap(),
                step
            );
            for k in 0..plain.coeffs() {
                let want = if k < LEADING {
                    // The test model's gain of class c is GAIN - c.
                    let g = i64::from(GAIN) - gained.class_of(k, step) as i64;
                    assert_eq!(i64::from(gained.gain(gained.class_of(k, step))), g);
                    ((i64::from(ya[k]) * g + (1 << 14)) >> 15) as i32
                } else {
                    ya[k]
                };
                assert_eq!(yb[k], want, "coefficient {k}");
                shrunk += usize::from(yb[k] != ya[k]);
            }
            let mut out = vec![0f32; 48];
            decode(&gained, &b[..lb], &mut out).unwrap();
        }
    }
    assert!(shrunk > 100, "only {shrunk} coefficients changed");
}

#[test]
fn scalable_codes_take_the_gains_of_their_last_layer() {
    let (plain_bytes, gained_bytes) = models();
    let plain = Model::parse(&plain_bytes).unwrap();
    let gained = Model::parse(&gained_bytes).unwrap();
    let total = scalable_len(&gained);
    for x in common::vectors(8, 10) {
        let (mut a, mut b) = (vec![0u8; total], vec![0u8; total]);
        encode_scalable(&plain, &x, &mut a).unwrap();
        encode_scalable(&gained, &x, &mut b).unwrap();
        assert_eq!(a, b, "the encoder does not see the gains");
        for (len, layers) in [(16, 1), (total, 3)] {
            let (mut with, mut without) = (vec![0f32; 48], vec![0f32; 48]);
            assert_eq!(
                decode_scalable(&gained, &b[..len], &mut with).unwrap(),
                layers
            );
            decode_scalable(&plain, &a[..len], &mut without).unwrap();
            assert_ne!(with, without, "{len} bytes: the gains changed nothing");
        }
    }
}

#[test]
fn hostile_gain_fields_are_refused() {
    // A gain above 1, more gain coefficients than coefficients; none at all is a model
    // without gains.
    let above_one = common::try_build(&spec(Some((LEADING, 32768 + 30)))).unwrap_err();
    assert_eq!(above_one, ModelError::GainAboveOne);
    let too_many = common::try_build(&spec(Some((17, GAIN)))).unwrap_err();
    assert_eq!(too_many, ModelError::GainCoefficientCount);
    let none = common::build(&spec(Some((0, GAIN))));
    assert_eq!(Model::parse(&none).unwrap().gain_coeffs(), 0);

    // Header fields are checked before the checksum: edit them in place.
    let plain = common::build(&spec(None));
    let mut count_above_coefficients = plain.clone();
    count_above_coefficients[36] = 17;
    assert_eq!(
        Model::parse(&count_above_coefficients).unwrap_err(),
        ModelError::GainCoefficientCount
    );
    // Version 1 defines no flag at this bit: a model that sets it is refused, not guessed at.
    let mut old_gains_flag = plain;
    old_gains_flag[23] |= 8;
    assert_eq!(
        Model::parse(&old_gains_flag).unwrap_err(),
        ModelError::UnknownFlags
    );
    let mut reserved = common::build(&spec(Some((LEADING, GAIN))));
    reserved[38] = 1;
    assert_eq!(
        Model::parse(&reserved).unwrap_err(),
        ModelError::ReservedBytes
    );
}
