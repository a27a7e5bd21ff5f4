//! The latent code of an image: identity + camera + pose + image-specific parts.

use crate::rng::Rng;

/// Stream labels keep the random numbers of different parts independent of each other.
const IDENTITY_STREAM: u64 = 1 << 40;
const IMAGE_STREAM: u64 = 2 << 40;
const PROTOTYPE_STREAM: u64 = 3 << 40;

/// One image to generate: who, seen by which camera, in which pose, and its own random stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Image {
    /// Identity (unique across the whole dataset).
    pub identity: u32,
    /// Camera index.
    pub camera: u16,
    /// Pose index (front, back, side, ...), shared by all identities.
    pub pose: u16,
    /// Unique per image: seeds the image-specific part.
    pub serial: u64,
}

/// How the latent variance of each direction splits into identity, camera, pose and image parts.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Number of latent directions.
    pub dims: usize,
    /// Fraction of variance carried by the identity, in every direction.
    pub identity: f64,
    /// Fraction carried by the camera in the leading directions...
    pub camera_leading: f64,
    /// ...how many directions count as leading...
    pub leading: usize,
    /// ...and in the others.
    pub camera: f64,
    /// Fraction carried by the pose.
    pub pose: f64,
    /// Number of cameras.
    pub cameras: usize,
    /// Number of poses.
    pub poses: usize,
}

/// Draws latent rows for images, deterministically from a seed.
pub struct LatentSampler {
    seed: u64,
    dims: usize,
    identity_scale: f64,
    image_scale: Vec<f64>,
    /// Camera prototypes, already scaled: `cameras x dims`.
    camera_part: Vec<f64>,
    /// Pose prototypes, already scaled: `poses x dims`.
    pose_part: Vec<f64>,
}

impl LatentSampler {
    /// A sampler for `layout`. Panics if the fractions of a direction exceed 1 (a programming
    /// error: layouts are built in code, not read from users).
    pub fn new(layout: &Layout, seed: u64) -> Self {
        let d = layout.dims;
        let camera_frac = |k: usize| {
            if k < layout.leading {
                layout.camera_leading
            } else {
                layout.camera
            }
        };
        let image_scale: Vec<f64> = (0..d)
            .map(|k| {
                let rest = 1.0 - layout.identity - camera_frac(k) - layout.pose;
                assert!(rest >= 0.0, "latent fractions exceed 1");
                rest.sqrt()
            })
            .collect();
        let mut rng = Rng::stream(seed, PROTOTYPE_STREAM);
        let camera_part = prototypes(layout.cameras, d, &mut rng, camera_frac);
        let pose_part = prototypes(layout.poses, d, &mut rng, |_| layout.pose);
        LatentSampler {
            seed,
            dims: d,
            identity_scale: layout.identity.sqrt(),
            image_scale,
            camera_part,
            pose_part,
        }
    }

    /// Latent dimension.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Write the unit-variance latent of `image` into `out` (`dims` values).
    pub fn sample(&self, image: &Image, out: &mut [f64]) {
        let d = self.dims;
        let mut id_rng = Rng::stream(self.seed, IDENTITY_STREAM + u64::from(image.identity));
        let mut img_rng = Rng::stream(
            self.seed,
            IMAGE_STREAM ^ image.serial.wrapping_mul(0x9E37_79B9),
        );
        let cam = &self.camera_part[(image.camera as usize % self.camera_count()) * d..][..d];
        let pose = &self.pose_part[(image.pose as usize % self.pose_count()) * d..][..d];
        for k in 0..d {
            out[k] = self.identity_scale * id_rng.normal()
                + cam[k]
                + pose[k]
                + self.image_scale[k] * img_rng.normal();
        }
    }

    /// Image-specific random stream for other per-image draws (e.g. a global gain).
    pub fn image_rng(&self, image: &Image) -> Rng {
        Rng::stream(
            self.seed ^ 0x5555,
            IMAGE_STREAM ^ image.serial.wrapping_mul(0x9E37_79B9),
        )
    }

    fn camera_count(&self) -> usize {
        (self.camera_part.len() / self.dims.max(1)).max(1)
    }

    fn pose_count(&self) -> usize {
        (self.pose_part.len() / self.dims.max(1)).max(1)
    }
}

/// `count` prototypes of `d` values, centred over the prototypes (so that they move images
/// around the dataset mean instead of shifting it) and scaled to variance `frac(k)` per direction.
fn prototypes(count: usize, d: usize, rng: &mut Rng, frac: impl Fn(usize) -> f64) -> Vec<f64> {
    let mut p: Vec<f64> = (0..count * d).map(|_| rng.normal()).collect();
    if count > 1 {
        // Centring `count` i.i.d. normals leaves variance (count-1)/count; undo that.
        let fix = (count as f64 / (count as f64 - 1.0)).sqrt();
        for k in 0..d {
            let mean = (0..count).map(|c| p[c * d + k]).sum::<f64>() / count as f64;
            for c in 0..count {
                p[c * d + k] = (p[c * d + k] - mean) * fix;
            }
        }
    }
    for (i, v) in p.iter_mut().enumerate() {
        *v *= frac(i % d.max(1)).sqrt();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            dims: 8,
            identity: 0.4,
            camera_leading: 0.1,
            leading: 2,
            camera: 0.05,
            pose: 0.05,
            cameras: 3,
            poses: 4,
        }
    }

    #[test]
    fn same_identity_shares_its_part() {
        let s = LatentSampler::new(&layout(), 1);
        let img = |id, serial| Image {
            identity: id,
            camera: 0,
            pose: 0,
            serial,
        };
        let mut a = vec![0.0; 8];
        let mut b = vec![0.0; 8];
        let mut c = vec![0.0; 8];
        // Average correlation over many image pairs: same identity ~ identity+camera+pose, else ~ camera+pose.
        let (mut same, mut diff) = (0.0, 0.0);
        for serial in 0..2000u64 {
            s.sample(&img(1, 2 * serial), &mut a);
            s.sample(&img(1, 2 * serial + 1), &mut b);
            s.sample(&img(2 + serial as u32, 2 * serial + 1), &mut c);
            same += a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>();
            diff += a.iter().zip(&c).map(|(x, y)| x * y).sum::<f64>();
        }
        assert!(
            same / 2000.0 > diff / 2000.0 + 8.0 * 0.3,
            "{same} vs {diff}"
        );
    }

    #[test]
    fn deterministic() {
        let s = LatentSampler::new(&layout(), 9);
        let img = Image {
            identity: 5,
            camera: 1,
            pose: 2,
            serial: 77,
        };
        let mut a = vec![0.0; 8];
        let mut b = vec![0.0; 8];
        s.sample(&img, &mut a);
        s.sample(&img, &mut b);
        assert_eq!(a, b);
    }
}
