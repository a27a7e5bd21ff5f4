//! Models the targets run against, all checked into the repository, all of format version 1:
//! the golden test model (48-d, hand-built), a small model trained on synthetic kind-A
//! features (128-d, one quantiser), and a 128-d model made by `naicfc train` with its default
//! options (trellis, step growth, decoder gains), whose paths the other two never reach. It was
//! made with `naicfc synth --out d --dim 128 --seed 5 --identities 60 --images-per-identity 5
//! --test-identities 2 --queries 2 --gallery 4` and `naicfc train --data d --out
//! default-128.nfcm`; remake it the same way when the format changes.

pub const GOLDEN: &[u8] = include_bytes!("../../codec-core/tests/golden/model-v1.nfcm");
pub const TRAINED: &[u8] = include_bytes!("../corpus-assets/trained-128.nfcm");
pub const DEFAULT: &[u8] = include_bytes!("../corpus-assets/default-128.nfcm");

/// The model a fuzz input's selector byte names. Selectors 0 and 1 keep the models the older
/// seeds were written for.
pub fn bytes(selector: u8) -> &'static [u8] {
    match selector % 3 {
        0 => GOLDEN,
        1 => TRAINED,
        _ => DEFAULT,
    }
}

pub fn pick(selector: u8) -> codec_core::Model<'static> {
    codec_core::Model::parse(bytes(selector)).expect("checked-in models are valid")
}
