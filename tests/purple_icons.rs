//! prpl-msim's protocol icons (issue 10 item 8). Pidgin 2.x loads a protocol's icon from
//! DATADIR/pixmaps/pidgin/protocols/{16,22,48}/<name>.png, where <name> is what the prpl's
//! `list_icon` returns; with no such file it shows none and floods its debug log with GLib
//! assertions. The plugin ships its own (`examples-c/purple/icons/`, drawn by `draw.py`): this test
//! checks that each is a well-formed PNG of its size, named after `list_icon`'s return value, and
//! that the Makefile and the drawing script use that name too. (`tests/purple_harness.rs` checks
//! through libpurple that `make install-icons` puts them where Pidgin looks.)

use std::path::PathBuf;

const SIZES: [u32; 3] = [16, 22, 48];

fn purple_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples-c/purple")
}

/// The string literal `prpl_list_icon` returns, read from the plugin's source.
fn list_icon_name() -> String {
    let src = std::fs::read_to_string(purple_dir().join("buddies.c")).unwrap();
    let body = src.split("const char *prpl_list_icon(").nth(1).expect("prpl_list_icon in buddies.c");
    let body = &body[..body.find("\n}").expect("end of prpl_list_icon")];
    let ret = body.split("return \"").nth(1).expect("prpl_list_icon returns a string literal");
    ret[..ret.find('"').unwrap()].to_string()
}

/// CRC-32 (ISO 3309, as PNG chunks use it), bit by bit: a few hundred bytes of headers only.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Width and height of a PNG after checking its structure: the signature, every chunk's CRC, IHDR
/// first (8-bit RGBA, no interlace), IDAT with a zlib header, IEND last with nothing after it.
fn png_size(bytes: &[u8]) -> Result<(u32, u32), String> {
    let rest = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n").ok_or("no PNG signature")?;
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < rest.len() {
        let header = rest.get(at..at + 8).ok_or("truncated chunk header")?;
        let len = u32::from_be_bytes(header[..4].try_into().unwrap()) as usize;
        let body = rest.get(at + 4..at + 8 + len).ok_or("truncated chunk")?;
        let crc = rest.get(at + 8 + len..at + 12 + len).ok_or("truncated chunk CRC")?;
        if crc32(body) != u32::from_be_bytes(crc.try_into().unwrap()) {
            return Err(format!("bad CRC in {:?}", String::from_utf8_lossy(&body[..4])));
        }
        chunks.push((&body[..4], &body[4..]));
        at += 12 + len;
    }
    let (kind, ihdr) = chunks.first().ok_or("no chunks")?;
    if *kind != b"IHDR" || ihdr.len() != 13 {
        return Err("the first chunk is not a 13-byte IHDR".into());
    }
    let (w, h) =
        (u32::from_be_bytes(ihdr[..4].try_into().unwrap()), u32::from_be_bytes(ihdr[4..8].try_into().unwrap()));
    // bit depth 8, colour type 6 (RGBA), compression 0, filter 0, no interlace.
    if ihdr[8..] != [8, 6, 0, 0, 0] {
        return Err(format!("not 8-bit non-interlaced RGBA: {:?}", &ihdr[8..]));
    }
    let idat: Vec<&[u8]> = chunks.iter().filter(|(k, _)| *k == b"IDAT").map(|(_, d)| *d).collect();
    let first = idat.first().filter(|d| d.len() >= 2).ok_or("no image data")?;
    // zlib stream header: deflate (CM 8) and the FCHECK rule.
    if first[0] & 0x0F != 8 || (u16::from(first[0]) << 8 | u16::from(first[1])) % 31 != 0 {
        return Err("IDAT is not a zlib stream".into());
    }
    if chunks.last().map(|(k, d)| (*k, d.len())) != Some((b"IEND", 0)) {
        return Err("IEND is not the last chunk".into());
    }
    Ok((w, h))
}

#[test]
fn protocol_icons_are_pngs_of_16_22_and_48_px_named_after_list_icon() {
    let name = list_icon_name();
    assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{name:?}");
    for size in SIZES {
        let dir = purple_dir().join(format!("icons/{size}"));
        let mut files: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        files.sort();
        // Exactly the file Pidgin will ask for: no stale icon under an old name.
        assert_eq!(files, [format!("{name}.png")], "{}", dir.display());
        let bytes = std::fs::read(dir.join(format!("{name}.png"))).unwrap();
        assert_eq!(png_size(&bytes), Ok((size, size)), "{size} px icon");
    }
}

#[test]
fn the_makefile_and_the_drawing_script_use_list_icons_name() {
    let name = list_icon_name();
    let makefile = std::fs::read_to_string(purple_dir().join("Makefile")).unwrap();
    assert!(makefile.lines().any(|l| l == format!("ICON_NAME = {name}")), "Makefile's ICON_NAME is not {name:?}");
    assert!(makefile.lines().any(|l| l == "ICON_SIZES = 16 22 48"), "Makefile's ICON_SIZES");
    let script = std::fs::read_to_string(purple_dir().join("icons/draw.py")).unwrap();
    assert!(script.contains(&format!("NAME = \"{name}\"")), "draw.py's NAME is not {name:?}");
}

#[test]
fn the_png_checker_rejects_what_pidgin_could_not_load() {
    let good = std::fs::read(purple_dir().join(format!("icons/16/{}.png", list_icon_name()))).unwrap();
    assert_eq!(png_size(&good), Ok((16, 16)));
    let mut bad_crc = good.clone();
    bad_crc[20] ^= 1; // inside IHDR
    assert!(png_size(&bad_crc).is_err());
    assert!(png_size(&good[..good.len() - 4]).is_err(), "truncated");
    assert!(png_size(b"GIF89a").is_err());
}
