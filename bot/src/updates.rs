//! Work updates (驻村动态): `/update` from a reporter, the bulletin channel post, `/feed`.

use crate::texts::{K, fill, tr};
use domain::config::Lang;
use storage::UpdatePost;

/// The bulletin post of an update: headed with the unit's name and date, then the brief.
pub fn bulletin_text(lang: Lang, post: &UpdatePost) -> String {
    let mut text = fill(
        tr(lang, K::BulletinHeader),
        &[("unit", &post.unit_name), ("date", &post.day.to_string())],
    );
    if let Some(body) = post.text.as_deref().filter(|t| !t.is_empty()) {
        text.push_str("\n\n");
        text.push_str(body);
    }
    text
}
