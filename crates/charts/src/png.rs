//! PNG images: the SVG drawn by [`crate::svg`], rasterised by resvg with the embedded
//! DejaVu Sans font, so the PNG and the SVG are one drawing and no system font is needed.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

/// DejaVu Sans (Bitstream Vera license, see `fonts/LICENSE-DejaVu.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Why a PNG could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PngError {
    /// The size is zero or too large to allocate.
    #[error("cannot draw a {width}×{height} image")]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The SVG could not be read back (a bug: the SVG is ours).
    #[error("internal error: the chart SVG did not parse ({0}); please report this bug")]
    Svg(String),
    /// PNG encoding failed.
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

/// Largest side accepted, to keep memory bounded (16k × 16k × 4 bytes = 1 GiB is too much).
const MAX_SIDE: u32 = 8192;

fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(DEJAVU_SANS.to_vec());
        // Every family the SVG names, and the generic ones, resolve to the embedded font.
        db.set_sans_serif_family("DejaVu Sans");
        db.set_serif_family("DejaVu Sans");
        db.set_monospace_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Rasterises `svg` (drawn for `width` × `height`) into PNG bytes.
pub(crate) fn render(svg: &str, width: u32, height: u32) -> Result<Vec<u8>, PngError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(PngError::Size { width, height });
    }
    let options =
        usvg::Options { font_family: "DejaVu Sans".into(), fontdb: fonts(), ..usvg::Options::default() };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| PngError::Svg(e.to_string()))?;
    let mut pixmap = tiny_skia::Pixmap::new(width, height).ok_or(PngError::Size { width, height })?;
    // The SVG may be drawn at a minimum size larger than asked: scale it into the image.
    let size = tree.size();
    let transform =
        tiny_skia::Transform::from_scale(width as f32 / size.width(), height as f32 / size.height());
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| PngError::Encode(e.to_string()))
}
