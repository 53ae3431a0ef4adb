//! The bundled sample inbox of `mail-intake demo` (invented mails, made by code in
//! `demo/generate.py`), compiled into the binary so the demo needs no files.

/// (file name, raw message)
pub const INBOX: &[(&str, &[u8])] = &[
    ("1678759260.M1P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759260.M1P1.demo:2,")),
    ("1678759320.M2P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759320.M2P1.demo:2,")),
    ("1678759380.M3P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759380.M3P1.demo:2,")),
    ("1678759440.M4P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759440.M4P1.demo:2,")),
    ("1678759500.M5P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759500.M5P1.demo:2,")),
    ("1678759560.M6P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759560.M6P1.demo:2,")),
    ("1678759620.M7P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759620.M7P1.demo:2,")),
    ("1678759680.M8P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759680.M8P1.demo:2,")),
    ("1678759740.M9P1.demo:2,", include_bytes!("../../demo/inbox/cur/1678759740.M9P1.demo:2,")),
    ("1679793000.M10P1.demo:2,", include_bytes!("../../demo/inbox/cur/1679793000.M10P1.demo:2,")),
];
