//! TEMPORARY stub in the client branch until the real markup.rs lands on main.
pub fn markup_to_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
pub fn html_to_markup(s: &str) -> String {
    s.to_owned()
}
pub fn markup_to_plain(s: &str) -> String {
    s.to_owned()
}
pub fn html_to_plain(s: &str) -> String {
    s.to_owned()
}
