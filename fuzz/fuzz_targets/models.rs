//! Models the targets run against: the golden test model (48-d, hand-built) and a small model
//! trained on synthetic kind-A features (128-d), both checked into the repository.

pub const GOLDEN: &[u8] = include_bytes!("../../codec-core/tests/golden/model-v1.nfcm");
pub const TRAINED: &[u8] = include_bytes!("../corpus-assets/trained-128.nfcm");

pub fn pick(selector: u8) -> codec_core::Model<'static> {
    let bytes = if selector & 1 == 0 { GOLDEN } else { TRAINED };
    codec_core::Model::parse(bytes).expect("checked-in models are valid")
}
