//! The plugin configuration, read from Envoy a piece at a time as it is parsed: a wasm VM's
//! memory never shrinks, so a whole 14 MB document (100,000 keys) read at once would stay
//! 14 MB of every worker's VM for good.

use std::io;

use proxy_wasm::hostcalls;
use proxy_wasm::types::BufferType;

/// How much of the document is read at a time.
pub(crate) const PIECE: usize = 64 * 1024;

/// The plugin configuration as a [`io::Read`] (wrap it in a `BufReader`: the JSON parser
/// reads a byte at a time).
#[derive(Default)]
pub(crate) struct PluginConfig {
    offset: usize,
}

impl io::Read for PluginConfig {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let piece = hostcalls::get_buffer(BufferType::PluginConfiguration, self.offset, buf.len())
            .map_err(|status| {
                io::Error::other(format!("cannot read the plugin configuration: {status:?}"))
            })?;
        let Some(piece) = piece else { return Ok(0) };
        let n = piece.len().min(buf.len());
        let (Some(to), Some(from)) = (buf.get_mut(..n), piece.get(..n)) else { return Ok(0) };
        to.copy_from_slice(from);
        self.offset = self.offset.saturating_add(n);
        Ok(n)
    }
}
