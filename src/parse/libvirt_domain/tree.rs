//! A bounded element tree of one XML document, read with quick-xml.
//!
//! Domain XML comes from hosts, sosreports and users: it is hostile input. The reader refuses a
//! DOCTYPE (no DTD, so no entity definitions and no "billion laughs"), resolves only the five
//! predefined entities and character references, and stops at fixed bounds on depth, element
//! count and text size instead of allocating whatever the document asks for.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use quick_xml::XmlVersion;

/// Deepest nesting accepted (real domain XML nests about 6 levels).
const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document (a domain with 1,000 disks has ~10,000).
const MAX_ELEMENTS: usize = 200_000;
/// Most text kept per element; longer text is cut (no element kvmaudit reads is long).
const MAX_TEXT: usize = 4096;

/// One element: its qualified name (`qemu:commandline` keeps its prefix), attributes in
/// document order, child elements and its direct text, trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this name, in document order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first element along a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    /// Trimmed text of the element at `path`, when non-empty.
    pub fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path)
            .map(|e| e.text.as_str())
            .filter(|t| !t.is_empty())
    }
}

/// The document's root element, or why it could not be read (with the byte offset).
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        let at = reader.buffer_position();
        match event {
            Event::DocType(_) => {
                return Err(format!(
                    "byte {at}: a DOCTYPE is not accepted (domain XML has none; DTDs can define entities)"
                ))
            }
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(format!("byte {at}: content after the root element"));
            }
            Event::Start(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("byte {at}: nested deeper than {MAX_DEPTH} levels"));
                }
                stack.push(element(&e).map_err(|m| format!("byte {at}: {m}"))?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(format!("more than {MAX_ELEMENTS} elements"));
                }
                let el = element(&e).map_err(|m| format!("byte {at}: {m}"))?;
                attach(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                // quick-xml checks that end tags match their start tags.
                let Some(mut el) = stack.pop() else {
                    return Err(format!("byte {at}: end tag without a start tag"));
                };
                el.text = el.text.trim().to_string();
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    push_text(&mut top.text, &t.xml_content(XmlVersion::Implicit1_0));
                } else if !t.xml_content(XmlVersion::Implicit1_0).trim().is_empty() {
                    return Err(format!("byte {at}: text outside the root element"));
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    push_text(&mut top.text, &t);
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.to_string();
                        predefined(&name)
                            .ok_or_else(|| {
                                format!("byte {at}: entity &{name}; is not defined (no DTD is read)")
                            })?
                            .to_string()
                    }
                    Err(e) => return Err(format!("byte {at}: bad character reference: {e}")),
                };
                if let Some(top) = stack.last_mut() {
                    push_text(&mut top.text, &ch);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "unexpected end of document inside <{}>",
            stack.last().map(|e| e.name.as_str()).unwrap_or("")
        ));
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn push_text(buf: &mut String, more: &str) {
    for c in more.chars() {
        if buf.len() + c.len_utf8() > MAX_TEXT {
            return;
        }
        buf.push(c);
    }
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

fn element(e: &BytesStart<'_>) -> Result<Element, String> {
    let name = e.name().as_ref().to_string();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("<{name}>: bad attribute: {err}"))?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| format!("<{name} {key}=...>: {err}"))?;
        let mut v = String::new();
        push_text(&mut v, &value);
        attrs.push((key, v));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_attributes_text_and_entities() {
        let t = parse(
            "<?xml version='1.0'?>\n<!-- c --><a x='1&amp;2'><b>hi &lt;there&gt; &#65;</b><c/></a>",
        )
        .unwrap();
        assert_eq!(t.name, "a");
        assert_eq!(t.attr("x"), Some("1&2"));
        assert_eq!(t.text_at(&["b"]), Some("hi <there> A"));
        assert!(t.child("c").is_some());
    }

    #[test]
    fn refuses_dtds_undefined_entities_and_bad_nesting() {
        let bomb = "<!DOCTYPE a [<!ENTITY x \"xx\"><!ENTITY y \"&x;&x;\">]><a>&y;</a>";
        assert!(parse(bomb).unwrap_err().contains("DOCTYPE"));
        assert!(parse("<a>&y;</a>").unwrap_err().contains("not defined"));
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(&deep).unwrap_err().contains("deeper"));
    }
}
