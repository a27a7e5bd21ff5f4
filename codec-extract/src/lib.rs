//! Re-ID features from images with an ONNX model: the first stage of the semi-final and final
//! rounds' pipeline (images in, features out), ahead of naicfc's codec.
//!
//! [`Extractor::load`] reads an ONNX model with tract (pure Rust, no Python or C++ runtime),
//! checks that it takes one image batch `[batch, 3, H, W]` and gives one vector per image, and
//! optimises it for a fixed batch size. [`read_image`] decodes a JPEG, PNG or BMP file;
//! [`Extractor::features`] preprocesses a batch of images as fast-reid's and torchreid's test
//! transforms do (resize, RGB, scale, mean/std, NCHW float32; each settable in [`Options`]),
//! runs the model and optionally averages with the mirror image and L2-normalises.
//!
//! The crate is separate from `codec-host` so that only the command line, not the Python
//! wheel, pulls in tract and the image decoders.

pub mod imageset;

use anyhow::{Context, Result, bail};
use image::RgbImage;
use image::imageops::FilterType;
use std::path::Path;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

/// The resampling filter of the resize to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Nearest neighbour.
    Nearest,
    /// Bilinear, as torchvision's `Resize` (torchreid, and the default here).
    Bilinear,
    /// Bicubic (Catmull-Rom), as fast-reid's test transform and its ONNX demo use.
    Bicubic,
    /// Lanczos with a window of 3.
    Lanczos3,
}

impl Filter {
    fn image_filter(self) -> FilterType {
        match self {
            Filter::Nearest => FilterType::Nearest,
            Filter::Bilinear => FilterType::Triangle,
            Filter::Bicubic => FilterType::CatmullRom,
            Filter::Lanczos3 => FilterType::Lanczos3,
        }
    }
}

/// How images become model inputs and model outputs become features.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Input height in pixels.
    pub height: usize,
    /// Input width in pixels.
    pub width: usize,
    /// Filter of the resize to `height` x `width` (images already that size are not resampled).
    pub filter: Filter,
    /// What a full-intensity channel (255) becomes before mean and std: 1 for torchvision's
    /// `ToTensor` (torchreid), 255 for models that normalise inside (fast-reid's exports).
    pub pixel_max: f32,
    /// Per-channel mean subtracted, in R, G, B order and in `pixel_max` units.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by, in R, G, B order and in `pixel_max` units.
    pub std: [f32; 3],
    /// Feed channels as B, G, R (models trained on OpenCV-loaded images).
    pub bgr: bool,
    /// Average the features of each image and of its mirror image (test-time augmentation).
    pub flip: bool,
    /// Scale every feature vector to unit L2 norm.
    pub normalize: bool,
    /// Images per model run (when the model's batch is not fixed by the model itself).
    pub batch: usize,
}

impl Default for Options {
    /// torchreid's test transform at fast-reid's and torchreid's default size: 256 x 128,
    /// bilinear, [0, 1], ImageNet mean and std; no flip, no normalisation, batches of 16.
    fn default() -> Self {
        Options {
            height: 256,
            width: 128,
            filter: Filter::Bilinear,
            pixel_max: 1.0,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
            bgr: false,
            flip: false,
            normalize: false,
            batch: 16,
        }
    }
}

/// Largest input side accepted: a model input of more pixels than this is a mistake in the
/// options, not a re-ID model (and would allocate gigabytes per batch).
pub const MAX_SIDE: usize = 4096;

/// An ONNX re-ID model, checked and optimised, ready to turn batches of images into features.
#[derive(Debug)]
pub struct Extractor {
    plan: TypedSimplePlan<TypedModel>,
    opts: Options,
    batch: usize,
    dim: usize,
}

impl Extractor {
    /// Load the model at `path` for `opts`. A model with other than one input, an input that is
    /// not `[batch, 3, H, W]` (with H and W those of `opts` where the model fixes them), or
    /// other than one output holding one vector per image is an error naming the shapes found.
    pub fn load(path: &Path, opts: &Options) -> Result<Extractor> {
        check_options(opts)?;
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .with_context(|| format!("{}: cannot read the ONNX model", path.display()))?;
        let batch = check_input(&model, opts).with_context(|| path.display().to_string())?;
        let (h, w) = (opts.height, opts.width);
        let typed = model
            .with_input_fact(0, f32::fact([batch, 3, h, w]).into())
            .and_then(|m| m.into_typed())
            .with_context(|| {
                format!(
                    "{}: the model does not run on a [{batch}, 3, {h}, {w}] float32 input",
                    path.display()
                )
            })?;
        // Checked before optimisation, which renames the nodes the message names.
        let dim = check_output(&typed, batch).with_context(|| path.display().to_string())?;
        let plan = typed
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .with_context(|| format!("{}: cannot plan the model", path.display()))?;
        Ok(Extractor {
            plan,
            opts: opts.clone(),
            batch,
            dim,
        })
    }

    /// Values per feature vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Images per model run: [`Options::batch`], or the batch the model fixes.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The features of `images` (any number; run [`Extractor::batch`] at a time), row after
    /// row, `dim()` values each.
    pub fn features(&self, images: &[RgbImage]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(images.len() * self.dim);
        for chunk in images.chunks(self.batch) {
            let input = self.input(chunk, false);
            let mut rows = self.run(input, chunk.len())?;
            if self.opts.flip {
                let mirrored = self.run(self.input(chunk, true), chunk.len())?;
                for (a, b) in rows.iter_mut().zip(&mirrored) {
                    *a = (*a + *b) * 0.5;
                }
            }
            if self.opts.normalize {
                for row in rows.chunks_exact_mut(self.dim) {
                    l2_normalize(row);
                }
            }
            out.extend_from_slice(&rows);
        }
        Ok(out)
    }

    /// The model input of up to `batch` images, NCHW, mirrored if `mirror`; a short batch is
    /// padded with zeros (the model's batch is fixed; the padding's outputs are dropped).
    fn input(&self, images: &[RgbImage], mirror: bool) -> Tensor {
        let (h, w) = (self.opts.height, self.opts.width);
        let mut data = vec![0f32; self.batch * 3 * h * w];
        for (img, out) in images.iter().zip(data.chunks_exact_mut(3 * h * w)) {
            preprocess(img, &self.opts, mirror, out);
        }
        // The length is batch x 3 x h x w by construction.
        tract_ndarray::Array4::from_shape_vec((self.batch, 3, h, w), data)
            .map(Tensor::from)
            .unwrap_or_else(|_| Tensor::from(0f32))
    }

    /// Run one batch and keep the first `n` rows.
    fn run(&self, input: Tensor, n: usize) -> Result<Vec<f32>> {
        let outputs = self.plan.run(tvec!(input.into_tvalue()))?;
        let out = outputs[0].cast_to::<f32>()?;
        let values = out.as_slice::<f32>()?;
        if values.len() != self.batch * self.dim {
            bail!(
                "the model gave {} values for a batch of {}, not {} per image",
                values.len(),
                self.batch,
                self.dim
            );
        }
        Ok(values[..n * self.dim].to_vec())
    }
}

/// Options that cannot describe an input: refused before the model is read.
fn check_options(opts: &Options) -> Result<()> {
    for (what, v) in [("height", opts.height), ("width", opts.width)] {
        if !(1..=MAX_SIDE).contains(&v) {
            bail!("input {what} {v}: must be 1 to {MAX_SIDE} pixels");
        }
    }
    if opts.batch == 0 {
        bail!("batch size 0: must be at least 1");
    }
    if !(opts.pixel_max.is_finite() && opts.pixel_max > 0.0) {
        bail!(
            "pixel maximum {}: must be a positive number",
            opts.pixel_max
        );
    }
    if opts.std.iter().any(|s| !(s.is_finite() && *s != 0.0))
        || !opts.mean.iter().all(|m| m.is_finite())
    {
        bail!(
            "mean {:?} / std {:?}: must be finite numbers, std non-zero",
            opts.mean,
            opts.std
        );
    }
    Ok(())
}

/// The model's input must be one image batch `[batch, 3, H, W]`; returns the batch to run
/// with: the model's own where it fixes one, else `opts.batch`.
fn check_input(model: &InferenceModel, opts: &Options) -> Result<usize> {
    let inputs = model.input_outlets()?;
    if inputs.len() != 1 {
        let found: Vec<String> = (0..inputs.len())
            .map(|i| describe_input(model, i))
            .collect();
        bail!(
            "the model has {} inputs ({}); naicfc extract needs exactly one, an image batch \
             [batch, 3, H, W]",
            inputs.len(),
            found.join("; ")
        );
    }
    let fact = model.input_fact(0)?;
    let dims: Vec<Option<usize>> = fact
        .shape
        .dims()
        .map(|d| {
            d.concretize()
                .and_then(|d| usize::try_from(d.to_i64().ok()?).ok())
        })
        .collect();
    let wanted = [None, Some(3), Some(opts.height), Some(opts.width)];
    let rank_known = !fact.shape.is_open() || dims.len() > 4;
    let fits = (!rank_known || dims.len() == 4)
        && dims
            .iter()
            .zip(wanted)
            .all(|(d, w)| d.is_none() || w.is_none() || *d == w);
    if !fits {
        bail!(
            "the model's input is {}; naicfc extract feeds [batch, 3, {}, {}] (set the height \
             and width to the model's)",
            describe_input(model, 0),
            opts.height,
            opts.width
        );
    }
    Ok(match dims.first() {
        Some(Some(b)) if *b > 0 => *b,
        _ => opts.batch,
    })
}

fn describe_input(model: &InferenceModel, i: usize) -> String {
    let name = model
        .input_outlets()
        .ok()
        .and_then(|o| o.get(i).map(|o| model.node(o.node).name.clone()))
        .unwrap_or_default();
    match model.input_fact(i) {
        Ok(f) => format!("{name} [{:?}]", f.shape),
        Err(_) => name,
    }
}

/// The model must have one output of one vector per image (`[batch, D]`, or `[batch, D, 1,
/// 1]` as a network that ends on global pooling gives); returns D.
fn check_output(model: &TypedModel, batch: usize) -> Result<usize> {
    let outputs = model.output_outlets()?;
    let shapes: Vec<String> = outputs
        .iter()
        .map(|o| {
            let fact = model.outlet_fact(*o).map(|f| format!("{:?}", f.shape));
            format!("{} [{}]", model.node(o.node).name, fact.unwrap_or_default())
        })
        .collect();
    let need = "naicfc extract needs one output of one feature vector per image, [batch, D] or \
                [batch, D, 1, 1]";
    if outputs.len() != 1 {
        bail!(
            "the model has {} outputs ({}); {need}",
            outputs.len(),
            shapes.join("; ")
        );
    }
    let fact = model.outlet_fact(outputs[0])?;
    let dims: Option<Vec<usize>> = fact.shape.as_concrete().map(|d| d.to_vec());
    let dim = match dims.as_deref() {
        Some([b, rest @ ..]) if *b == batch && !rest.is_empty() => {
            let big: Vec<usize> = rest.iter().copied().filter(|d| *d != 1).collect();
            match big.as_slice() {
                [d] if rest[0] == *d => Some(*d),
                [] => Some(1),
                _ => None,
            }
        }
        _ => None,
    };
    match dim {
        Some(d) => Ok(d),
        None => bail!(
            "the model's output is {} for a batch of {batch}; {need}",
            shapes[0]
        ),
    }
}

/// Decode the image file at `path` (JPEG, PNG or BMP, by its content) into RGB: grey is
/// repeated over the channels and alpha dropped, as PIL's `convert("RGB")` does.
///
/// The decoders are third-party code run on untrusted files: a panic in one is caught and
/// reported as an unreadable image rather than ending the whole run.
pub fn read_image(path: &Path) -> Result<RgbImage> {
    let decode = || -> Result<RgbImage> {
        let reader = image::ImageReader::open(path)?.with_guessed_format()?;
        Ok(reader.decode()?.to_rgb8())
    };
    match std::panic::catch_unwind(decode) {
        Ok(result) => result,
        Err(_) => bail!("the image decoder failed on this file"),
    }
}

/// Whether `path` names a file [`read_image`] is meant for, by its extension (`.jpg`,
/// `.jpeg`, `.png`, `.bmp`, any case).
pub fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["jpg", "jpeg", "png", "bmp"].contains(&e.to_ascii_lowercase().as_str()))
}

/// Write the model input of `img` into `out` (3 x height x width, channel-major), resized to
/// the input size and, if `mirror`, mirrored left to right.
fn preprocess(img: &RgbImage, opts: &Options, mirror: bool, out: &mut [f32]) {
    let (h, w) = (opts.height, opts.width);
    let resized;
    let img = if img.width() as usize == w && img.height() as usize == h {
        img
    } else {
        resized = image::imageops::resize(img, w as u32, h as u32, opts.filter.image_filter());
        &resized
    };
    let plane = h * w;
    for (y, row) in img.rows().enumerate() {
        for (x, px) in row.enumerate() {
            let x = if mirror { w - 1 - x } else { x };
            for c in 0..3 {
                let source = if opts.bgr { 2 - c } else { c };
                // The order of operations of the reference ((v / 255 - mean) / std in float32)
                // so that the same image gives the same input bit for bit.
                let v = f32::from(px.0[source]) / 255.0 * opts.pixel_max;
                out[c * plane + y * w + x] = (v - opts.mean[c]) / opts.std[c];
            }
        }
    }
}

/// Scale `row` to unit L2 norm; a zero vector stays zero (it has no direction to keep).
fn l2_normalize(row: &mut [f32]) {
    let norm = row
        .iter()
        .map(|v| f64::from(*v).powi(2))
        .sum::<f64>()
        .sqrt();
    if norm > 0.0 && norm.is_finite() {
        for v in row {
            *v = (f64::from(*v) / norm) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocessing_is_nchw_with_mean_std_mirror_and_bgr() {
        let mut img = RgbImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgb([255, 0, 51]));
        img.put_pixel(1, 0, image::Rgb([0, 255, 102]));
        let opts = Options {
            height: 1,
            width: 2,
            mean: [0.5, 0.0, 0.0],
            std: [0.5, 1.0, 2.0],
            ..Options::default()
        };
        let mut out = [0f32; 6];
        preprocess(&img, &opts, false, &mut out);
        assert_eq!(out, [1.0, -1.0, 0.0, 1.0, 0.1, 0.2]);
        preprocess(&img, &opts, true, &mut out);
        assert_eq!(out, [-1.0, 1.0, 1.0, 0.0, 0.2, 0.1]);
        let bgr = Options {
            bgr: true,
            pixel_max: 255.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            ..opts
        };
        preprocess(&img, &bgr, false, &mut out);
        assert_eq!(out, [51.0, 102.0, 0.0, 255.0, 255.0, 0.0]);
    }

    #[test]
    fn an_image_of_another_size_is_resized() {
        let img = RgbImage::from_pixel(7, 3, image::Rgb([255, 255, 255]));
        let opts = Options {
            height: 4,
            width: 2,
            mean: [0.0; 3],
            std: [1.0; 3],
            ..Options::default()
        };
        let mut out = [0f32; 24];
        preprocess(&img, &opts, false, &mut out);
        assert!(out.iter().all(|v| *v == 1.0), "{out:?}");
    }

    #[test]
    fn normalisation_gives_unit_norm_and_leaves_zero_alone() {
        let mut v = [3.0f32, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0f32; 3];
        l2_normalize(&mut z);
        assert_eq!(z, [0.0; 3]);
    }

    #[test]
    fn options_that_describe_no_input_are_refused() {
        for bad in [
            Options {
                height: 0,
                ..Options::default()
            },
            Options {
                batch: 0,
                ..Options::default()
            },
            Options {
                std: [1.0, 0.0, 1.0],
                ..Options::default()
            },
            Options {
                pixel_max: f32::NAN,
                ..Options::default()
            },
        ] {
            assert!(check_options(&bad).is_err(), "{bad:?}");
        }
        check_options(&Options::default()).unwrap();
    }

    #[test]
    fn image_names_are_recognised_by_extension() {
        for ok in ["a.jpg", "b.JPEG", "c.png", "d.Bmp"] {
            assert!(is_image_name(Path::new(ok)), "{ok}");
        }
        for no in ["list.txt", "a.dat", "png", "a.gif"] {
            assert!(!is_image_name(Path::new(no)), "{no}");
        }
    }
}
