//! The model format: the layout of a model and its constants (`layout`), reading and
//! validating it (`parse`), writing it (`write`, training's only producer), and the step grid
//! its fields define (`grid`). Everything above this layer reads a model through [`Model`] and
//! the traits here; nothing here knows how vectors are coded.

mod grid;
mod layout;
mod parse;
mod write;

pub use grid::{StepGrid, predict_step};
pub use layout::*;
pub use write::{ClassTable, Gains, LengthStepPrior, ModelParts, write};
