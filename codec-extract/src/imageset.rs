//! A generated re-ID image set: small pictures of figures with identities and cameras, in the
//! competition's layout, for testing the image pipeline end to end without shipping photos.
//!
//! Each identity is a figure with its own clothing colours, build and accessory; each camera
//! has its own lighting (per-channel gain) and background tone; each picture places the figure
//! at a random position and scale on a random textured background, with pixel noise. Same
//! identity, different camera therefore looks alike but not the same, which is what re-ID has
//! to see through.
//!
//! The layout is the one `naicfc synth` writes for features, with images in place of features
//! (`naicfc extract` of each images directory into the matching `*_feature` directory gives
//! `synth`'s layout exactly):
//!
//! ```text
//! ROOT/train/train_images/<name>.png   ROOT/train/train_list.txt   (<name>.png <id> <camid>)
//! ROOT/query_images/<name>.png         ROOT/query_list.txt
//! ROOT/gallery_images/<name>.png       ROOT/gallery_list.txt
//! ```
//!
//! Every fourth picture is a JPEG (`.jpg`), so both decoders are exercised.

use anyhow::{Context, Result, bail};
use image::{Rgb, RgbImage};
use std::fmt::Write as _;
use std::path::Path;

/// Sizes of a generated image set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSetConfig {
    /// Seed: the same seed and sizes give the same files.
    pub seed: u64,
    /// Identities of the training split.
    pub train_identities: usize,
    /// Pictures per training identity.
    pub train_per_identity: usize,
    /// Identities of the query and gallery splits (none of them in training).
    pub test_identities: usize,
    /// Queries per test identity.
    pub queries_per_identity: usize,
    /// Gallery pictures per test identity.
    pub gallery_per_identity: usize,
    /// Cameras (at least 2, so that a query's identity is also seen by another camera).
    pub cameras: usize,
}

impl Default for ImageSetConfig {
    /// Small enough to extract in seconds, large enough for re-ID to be measured.
    fn default() -> Self {
        ImageSetConfig {
            seed: 1,
            train_identities: 60,
            train_per_identity: 8,
            test_identities: 40,
            queries_per_identity: 2,
            gallery_per_identity: 6,
            cameras: 4,
        }
    }
}

/// How many pictures of each split were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSetCounts {
    /// Training pictures.
    pub train: usize,
    /// Query pictures.
    pub query: usize,
    /// Gallery pictures.
    pub gallery: usize,
}

/// Write the image set of `cfg` under `root` (which should be new or empty).
pub fn write_image_set(root: &Path, cfg: &ImageSetConfig) -> Result<ImageSetCounts> {
    if cfg.cameras < 2 || cfg.train_identities == 0 || cfg.test_identities == 0 {
        bail!("an image set needs at least 2 cameras, 1 training and 1 test identity");
    }
    let mut rng = Rng::new(cfg.seed);
    let cameras: Vec<Camera> = (0..cfg.cameras).map(|_| Camera::new(&mut rng)).collect();
    let total_ids = cfg.train_identities + cfg.test_identities;
    let people: Vec<Person> = (0..total_ids).map(|_| Person::new(&mut rng)).collect();
    let mut serial = 0usize;
    let splits = [
        (
            "train/train_images",
            "train/train_list.txt",
            0..cfg.train_identities,
            cfg.train_per_identity,
        ),
        (
            "query_images",
            "query_list.txt",
            cfg.train_identities..total_ids,
            cfg.queries_per_identity,
        ),
        (
            "gallery_images",
            "gallery_list.txt",
            cfg.train_identities..total_ids,
            cfg.gallery_per_identity,
        ),
    ];
    let mut counts = [0usize; 3];
    for (split, (dir, list, ids, per)) in splits.into_iter().enumerate() {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create directory", dir.display()))?;
        let mut lines = String::new();
        for id in ids {
            for k in 0..per {
                // Queries and gallery of one identity start on different cameras, so that every
                // query has gallery pictures of its identity taken by another camera.
                let cam = (id + k + if split == 2 { 1 } else { 0 }) % cfg.cameras;
                let picture = draw(&people[id], &cameras[cam], &mut rng);
                let ext = if serial % 4 == 3 { "jpg" } else { "png" };
                let name = format!("{serial:06}.{ext}");
                serial += 1;
                picture
                    .save(dir.join(&name))
                    .with_context(|| format!("{}: cannot write", dir.join(&name).display()))?;
                let _ = writeln!(lines, "{name} {id} {cam}");
                counts[split] += 1;
            }
        }
        let list = root.join(list);
        std::fs::write(&list, lines)
            .with_context(|| format!("{}: cannot write", list.display()))?;
    }
    Ok(ImageSetCounts {
        train: counts[0],
        query: counts[1],
        gallery: counts[2],
    })
}

/// What makes an identity: clothing colours, build and an accessory.
struct Person {
    top: [f32; 3],
    bottom: [f32; 3],
    skin: [f32; 3],
    accessory: [f32; 3],
    /// Width of the body relative to the picture.
    build: f32,
    /// Where the top ends, as a fraction of the body.
    waist: f32,
    /// Accessory on the left (false) or right (true), or none.
    accessory_side: Option<bool>,
    /// Vertical stripes on the top.
    stripes: bool,
}

impl Person {
    fn new(rng: &mut Rng) -> Person {
        Person {
            top: rng.colour(),
            bottom: rng.colour(),
            skin: {
                let t = rng.uniform(0.3, 0.9);
                [t * 255.0, t * 200.0, t * 160.0]
            },
            accessory: rng.colour(),
            build: rng.uniform(0.45, 0.75),
            waist: rng.uniform(0.35, 0.6),
            accessory_side: match rng.below(3) {
                0 => None,
                1 => Some(false),
                _ => Some(true),
            },
            stripes: rng.below(3) == 0,
        }
    }
}

/// What a camera does to every picture: lighting and background tone.
struct Camera {
    gain: [f32; 3],
    background: [f32; 3],
}

impl Camera {
    fn new(rng: &mut Rng) -> Camera {
        Camera {
            gain: [
                rng.uniform(0.75, 1.2),
                rng.uniform(0.75, 1.2),
                rng.uniform(0.75, 1.2),
            ],
            background: rng.colour(),
        }
    }
}

/// One picture of `person` seen by `camera`: about 64 x 32 pixels (the aspect of a re-ID
/// crop), the figure at a random position and scale.
fn draw(person: &Person, camera: &Camera, rng: &mut Rng) -> RgbImage {
    let h = 56 + rng.below(17) as u32;
    let w = h / 2;
    let (hf, wf) = (h as f32, w as f32);
    let scale = rng.uniform(0.75, 0.95);
    let body_h = hf * scale;
    let body_w = wf * person.build * scale;
    let top = rng.uniform(0.0, hf - body_h);
    let cx = wf / 2.0 + rng.uniform(-0.12, 0.12) * wf;
    let tone = rng.uniform(0.6, 1.1);
    let (fx, fy) = (rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3));
    let phase = rng.uniform(0.0, 6.3);
    let mut img = RgbImage::new(w, h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
        let texture = 0.75 + 0.25 * ((xf * fx + yf * fy + phase).sin());
        let mut c = camera.background.map(|v| v * tone * texture);
        let v = (yf - top) / body_h; // 0 at the top of the head, 1 at the feet
        let dx = (xf - cx) / body_w; // -0.5 .. 0.5 across the body
        let head = 0.16;
        if (0.0..head).contains(&v)
            && (dx * 2.2).powi(2) + ((v - head / 2.0) / (head / 2.0)).powi(2) < 1.0
        {
            c = person.skin;
        } else if (head..1.0).contains(&v) && dx.abs() < 0.5 {
            let body = (v - head) / (1.0 - head);
            if body < person.waist {
                c = person.top;
                if person.stripes && ((dx + 0.5) * 6.0) as i32 % 2 == 0 {
                    c = c.map(|v| v * 0.55);
                }
            } else if dx.abs() > 0.06 {
                // Two legs.
                c = person.bottom;
            }
        }
        if let Some(right) = person.accessory_side {
            let side = if right { dx - 0.55 } else { -dx - 0.55 };
            let body = (v - head) / (1.0 - head);
            if (0.0..0.22).contains(&side) && (0.25..0.55).contains(&body) {
                c = person.accessory;
            }
        }
        let noise = rng.uniform(-10.0, 10.0);
        *px = Rgb(std::array::from_fn(|i| {
            (c[i] * camera.gain[i] + noise).round().clamp(0.0, 255.0) as u8
        }));
    }
    img
}

/// A small seeded generator (SplitMix64): the pictures depend on the seed alone, on every
/// platform and version, which a general-purpose RNG crate does not promise.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x1D5E_7A11_3A6E_0001)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn colour(&mut self) -> [f32; 3] {
        [
            self.uniform(0.0, 255.0),
            self.uniform(0.0, 255.0),
            self.uniform(0.0, 255.0),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ImageSetConfig {
        ImageSetConfig {
            seed: 5,
            train_identities: 2,
            train_per_identity: 2,
            test_identities: 2,
            queries_per_identity: 1,
            gallery_per_identity: 2,
            cameras: 2,
        }
    }

    #[test]
    fn the_layout_and_lists_are_the_competitions() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let counts = write_image_set(dir, &small()).unwrap();
        assert_eq!(
            counts,
            ImageSetCounts {
                train: 4,
                query: 2,
                gallery: 4
            }
        );
        let list = std::fs::read_to_string(dir.join("query_list.txt")).unwrap();
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let name = line.split(' ').next().unwrap();
            let img = image::open(dir.join("query_images").join(name)).unwrap();
            assert_eq!(img.height(), img.width() * 2 + img.height() % 2);
        }
        assert!(dir.join("train/train_list.txt").is_file());
        assert_eq!(
            std::fs::read_dir(dir.join("gallery_images"))
                .unwrap()
                .count(),
            4
        );
    }

    #[test]
    fn the_same_seed_draws_the_same_picture_and_another_seed_another() {
        let picture = |seed| {
            let mut rng = Rng::new(seed);
            let cam = Camera::new(&mut rng);
            let person = Person::new(&mut rng);
            draw(&person, &cam, &mut rng)
        };
        assert_eq!(picture(3), picture(3));
        assert_ne!(picture(3), picture(4));
    }
}
