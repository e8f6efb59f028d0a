//! The flows this build of ntsbuild knows, one file (or folder) each. A new artifact kind is
//! its flow file, its recipe reader in `project/`, and one line in [`builtin`].

pub mod album;
pub mod arrangement;
pub mod kit;
pub mod sidecars;
pub mod song;
pub mod textures;

use super::flow::Registry;

/// Every built-in flow, in reading order (a song reads its kit; albums, texture libraries and
/// sidecars may read any target's artifacts).
pub fn builtin() -> Registry {
    Registry::new()
        .with(kit::KitFlow)
        .with(song::SongFlow)
        .with(album::AlbumFlow)
        .with(textures::TexturesFlow)
        .with(sidecars::SidecarsFlow)
}
