//! `#[derive(Wire)]`: writes `opencode_nexus::engine::wire::Wire` for a struct or an enum, so
//! that every field of every type on the store protocol is written and read, in declaration
//! order, without a hand-kept list that could miss one.
//!
//! - A struct is its fields, one after the other.
//! - An enum is its variant's index (a varint), then that variant's fields. A variant under
//!   `#[cfg(..)]` keeps its index and its `cfg`, so both ends of one build agree.
//!
//! `#[derive(Json)]`: writes `opencode_nexus::engine::json::{FromJson, ToJson}` and serde's
//! traits through them, for the OpenCode server's types (see `src/engine/json.rs` for the
//! rules). Attributes, all under `#[json(..)]`:
//! - on a field: `rename = "name"`, `default` (absent is `Default`), `skip_none` (an `Option`
//!   left out when `None`), `skip_empty` (left out when its `is_empty()`), `skip_if = "path"` (left out when
//!   `path(&field)`), `with = "path"` (read
//!   by `fn(&Value) -> Result<T, JsonError>`; absent is an error, or `Default` with `default`), `write_with = "path"`
//!   (written by `fn(&T) -> Value`);
//! - on an enum: `tag = "field"` (internally tagged; newtype, struct and unit variants) or no
//!   tag (unit variants only, written as strings), and `rename_all = "lowercase"` or
//!   `"snake_case"`;
//! - on a variant: `rename = "name"`, `other` (a unit variant any unknown tag reads as);
//! - on a type: `no_serde` (no serde traits through `Value`: for a type that derives serde's
//!   `Serialize` itself, to write its fields in declaration order).
//!
//! Only for types inside the app's crate (the generated code names `crate::engine::wire` and
//! `crate::engine::json`).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr};

#[proc_macro_derive(Wire)]
pub fn derive_wire(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Both derives write impls for one concrete type: a generic one is refused.
fn no_generics(input: &DeriveInput, derive: &str) -> syn::Result<()> {
    if input.generics.params.is_empty() {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        &input.generics,
        format!("derive({derive}) does not take generic types"),
    ))
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    no_generics(input, "Wire")?;
    let name = &input.ident;
    let (put, take) = match &input.data {
        Data::Struct(data) => {
            let (pattern, puts, build) = fields(quote!(Self), &data.fields);
            (
                quote! { let #pattern = self; #(#puts)* },
                quote! { ::std::result::Result::Ok(#build) },
            )
        }
        Data::Enum(data) => {
            let mut put_arms = Vec::new();
            let mut take_arms = Vec::new();
            for (index, variant) in data.variants.iter().enumerate() {
                let index = u32::try_from(index).expect("fewer than 2^32 variants");
                let cfgs: Vec<_> = variant
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("cfg"))
                    .collect();
                let ident = &variant.ident;
                let (pattern, puts, build) = fields(quote!(Self::#ident), &variant.fields);
                put_arms.push(quote! {
                    #(#cfgs)* #pattern => {
                        crate::engine::wire::put_tag(#index, out);
                        #(#puts)*
                    }
                });
                take_arms.push(quote! { #(#cfgs)* #index => #build, });
            }
            (
                quote! {
                    #[allow(unreachable_patterns)]
                    match self { #(#put_arms)* }
                },
                quote! {
                    ::std::result::Result::Ok(match input.tag()? {
                        #(#take_arms)*
                        _ => return ::std::result::Result::Err(crate::engine::wire::Malformed),
                    })
                },
            )
        }
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                name,
                "derive(Wire) is for structs and enums",
            ))
        }
    };
    Ok(quote! {
        impl crate::engine::wire::Wire for #name {
            #[allow(unused_variables)]
            fn put(&self, out: &mut ::std::vec::Vec<u8>) {
                #put
            }
            #[allow(unused_variables)]
            fn take(
                input: &mut crate::engine::wire::Input<'_>,
            ) -> ::std::result::Result<Self, crate::engine::wire::Malformed> {
                #take
            }
        }
    })
}

/// For one set of fields under `path` (`Self` or `Self::Variant`): the pattern binding every
/// field (no `..`, so a field the derive did not see cannot exist), the statements writing
/// them, and the expression reading them back in the same order.
fn fields(path: Tokens, fields: &Fields) -> (Tokens, Vec<Tokens>, Tokens) {
    let take = quote!(crate::engine::wire::Wire::take(input)?);
    match fields {
        Fields::Named(named) => {
            let names: Vec<_> = named.named.iter().map(|f| f.ident.clone()).collect();
            let puts = names
                .iter()
                .map(|n| quote! { crate::engine::wire::Wire::put(#n, out); })
                .collect();
            (
                quote!(#path { #(#names),* }),
                puts,
                quote!(#path { #(#names: #take),* }),
            )
        }
        Fields::Unnamed(unnamed) => {
            let names: Vec<_> = (0..unnamed.unnamed.len())
                .map(|i| format_ident!("f{i}"))
                .collect();
            let puts = names
                .iter()
                .map(|n| quote! { crate::engine::wire::Wire::put(#n, out); })
                .collect();
            let takes = names.iter().map(|_| &take);
            (
                quote!(#path ( #(#names),* )),
                puts,
                quote!(#path ( #(#takes),* )),
            )
        }
        Fields::Unit => (path.clone(), Vec::new(), path),
    }
}

#[proc_macro_derive(Json, attributes(json))]
pub fn derive_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand_json(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// What `#[json(..)]` says on one item.
#[derive(Default)]
struct JsonAttrs {
    rename: Option<String>,
    rename_all: Option<String>,
    tag: Option<String>,
    with: Option<syn::Path>,
    write_with: Option<syn::Path>,
    skip_if: Option<syn::Path>,
    default: bool,
    skip_none: bool,
    skip_empty: bool,
    other: bool,
    no_serde: bool,
}

fn json_attrs(attrs: &[syn::Attribute]) -> syn::Result<JsonAttrs> {
    let mut out = JsonAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("json")) {
        attr.parse_nested_meta(|meta| {
            let string = |meta: &syn::meta::ParseNestedMeta| -> syn::Result<String> {
                Ok(meta.value()?.parse::<LitStr>()?.value())
            };
            if meta.path.is_ident("rename") {
                out.rename = Some(string(&meta)?);
            } else if meta.path.is_ident("rename_all") {
                let rule = string(&meta)?;
                if rule != "lowercase" && rule != "snake_case" {
                    return Err(meta.error("rename_all is \"lowercase\" or \"snake_case\""));
                }
                out.rename_all = Some(rule);
            } else if meta.path.is_ident("tag") {
                out.tag = Some(string(&meta)?);
            } else if meta.path.is_ident("with") {
                out.with = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            } else if meta.path.is_ident("write_with") {
                out.write_with = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            } else if meta.path.is_ident("skip_if") {
                out.skip_if = Some(meta.value()?.parse::<LitStr>()?.parse()?);
            } else if meta.path.is_ident("skip_empty") {
                out.skip_empty = true;
            } else if meta.path.is_ident("default") {
                out.default = true;
            } else if meta.path.is_ident("skip_none") {
                out.skip_none = true;
            } else if meta.path.is_ident("other") {
                out.other = true;
            } else if meta.path.is_ident("no_serde") {
                out.no_serde = true;
            } else {
                return Err(meta.error("unknown json attribute"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

fn expand_json(input: &DeriveInput) -> syn::Result<Tokens> {
    no_generics(input, "Json")?;
    let name = &input.ident;
    let what = name.to_string();
    let container = json_attrs(&input.attrs)?;
    let (from, to) = match &input.data {
        Data::Struct(data) => {
            let Fields::Named(named) = &data.fields else {
                return Err(syn::Error::new_spanned(
                    name,
                    "derive(Json) takes structs with named fields",
                ));
            };
            let (reads, writes) = named_fields(&named.named)?;
            (
                quote! {
                    let o = crate::engine::json::object(v, #what)?;
                    ::std::result::Result::Ok(Self { #(#reads)* })
                },
                quote! {
                    let mut o = crate::engine::json::Map::new();
                    #(#writes)*
                    crate::engine::json::Value::Object(o)
                },
            )
        }
        Data::Enum(data) => enum_json(&what, &container, data)?,
        Data::Union(_) => {
            return Err(syn::Error::new_spanned(
                name,
                "derive(Json) is for structs and enums",
            ))
        }
    };
    let serde = if container.no_serde {
        quote!()
    } else {
        quote!(crate::serde_via_json!(#name);)
    };
    Ok(quote! {
        impl crate::engine::json::FromJson for #name {
            fn from_json(
                v: &crate::engine::json::Value,
            ) -> ::std::result::Result<Self, crate::engine::json::JsonError> {
                #from
            }
        }

        impl crate::engine::json::ToJson for #name {
            fn to_json(&self) -> crate::engine::json::Value {
                #to
            }
        }

        #serde
    })
}

/// For named fields: the `field: value,` initialisers reading them from the object `o`, and
/// the statements writing `self.field` into the map `o`.
fn named_fields(
    fields: &syn::punctuated::Punctuated<syn::Field, syn::Token![,]>,
) -> syn::Result<(Vec<Tokens>, Vec<Tokens>)> {
    named_fields_of(fields, |ident| quote!(&self.#ident))
}

/// As [`named_fields`], writing from `access(ident)` (a field of `self` or a binding).
fn named_fields_of(
    fields: &syn::punctuated::Punctuated<syn::Field, syn::Token![,]>,
    access: impl Fn(&syn::Ident) -> Tokens,
) -> syn::Result<(Vec<Tokens>, Vec<Tokens>)> {
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    for field in fields {
        let ident = field.ident.as_ref().expect("named field");
        let attrs = json_attrs(&field.attrs)?;
        let key = attrs
            .rename
            .clone()
            .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned());
        let read = match (&attrs.with, attrs.default) {
            (Some(with), true) => quote!(crate::engine::json::field_with(o, #key, #with)?),
            (Some(with), false) => quote!(crate::engine::json::field_by(o, #key, #with)?),
            (None, true) => quote!(crate::engine::json::field_or_default(o, #key)?),
            (None, false) => quote!(crate::engine::json::field(o, #key)?),
        };
        reads.push(quote!(#ident: #read,));
        let value = access(ident);
        let write = match (&attrs.write_with, attrs.skip_none) {
            (Some(_), true) => {
                return Err(syn::Error::new_spanned(
                    ident,
                    "`write_with` and `skip_none` do not go together",
                ))
            }
            (Some(write), false) => quote! {
                o.insert(::std::string::ToString::to_string(#key), #write(#value));
            },
            (None, true) => quote!(crate::engine::json::put_some(&mut o, #key, #value);),
            (None, false) => quote!(crate::engine::json::put(&mut o, #key, #value);),
        };
        writes.push(match (&attrs.skip_if, attrs.skip_empty) {
            (Some(skip), _) => quote!(if !#skip(#value) { #write }),
            (None, true) => quote!(if !(#value).is_empty() { #write }),
            (None, false) => write,
        });
    }
    Ok((reads, writes))
}

fn enum_json(
    what: &str,
    container: &JsonAttrs,
    data: &syn::DataEnum,
) -> syn::Result<(Tokens, Tokens)> {
    let rename_all = container.rename_all.as_deref();
    let mut names = Vec::new();
    let mut read_arms = Vec::new();
    let mut write_arms = Vec::new();
    let mut other = None;
    for variant in &data.variants {
        let ident = &variant.ident;
        let attrs = json_attrs(&variant.attrs)?;
        let wire_name = attrs.rename.clone().unwrap_or_else(|| {
            let n = ident.to_string();
            match rename_all {
                Some("lowercase") => n.to_lowercase(),
                Some(_) => snake_case(&n),
                None => n,
            }
        });
        if attrs.other {
            if !matches!(variant.fields, Fields::Unit) || other.is_some() {
                return Err(syn::Error::new_spanned(
                    ident,
                    "`other` is one unit variant",
                ));
            }
            other = Some(ident.clone());
        } else {
            names.push(wire_name.clone());
        }
        match (&container.tag, &variant.fields) {
            (None, Fields::Unit) => {
                if !attrs.other {
                    read_arms.push(quote!(#wire_name => Self::#ident,));
                }
                write_arms.push(quote!(Self::#ident => crate::engine::json::Value::String(#wire_name.to_owned()),));
            }
            (None, _) => {
                return Err(syn::Error::new_spanned(
                    ident,
                    "an enum without `tag` has unit variants only",
                ))
            }
            (Some(tag), Fields::Unit) => {
                if !attrs.other {
                    read_arms.push(quote!(#wire_name => Self::#ident,));
                }
                write_arms.push(quote!(Self::#ident => {
                    let mut o = crate::engine::json::Map::new();
                    crate::engine::json::put(&mut o, #tag, #wire_name);
                    crate::engine::json::Value::Object(o)
                }));
            }
            (Some(tag), Fields::Unnamed(unnamed)) if unnamed.unnamed.len() == 1 => {
                read_arms.push(quote!(#wire_name => Self::#ident(crate::engine::json::FromJson::from_json(v)?),));
                write_arms.push(quote!(Self::#ident(inner) => crate::engine::json::tagged(
                    crate::engine::json::ToJson::to_json(inner), #tag, #wire_name),));
            }
            (Some(tag), Fields::Named(named)) => {
                let idents: Vec<_> = named.named.iter().map(|f| f.ident.clone()).collect();
                let (reads, writes) = named_fields_of(&named.named, |i| quote!(#i))?;
                read_arms.push(quote!(#wire_name => Self::#ident { #(#reads)* },));
                write_arms.push(quote!(Self::#ident { #(#idents),* } => {
                    let mut o = crate::engine::json::Map::new();
                    crate::engine::json::put(&mut o, #tag, #wire_name);
                    #(#writes)*
                    crate::engine::json::Value::Object(o)
                }));
            }
            (Some(_), Fields::Unnamed(_)) => {
                return Err(syn::Error::new_spanned(
                    ident,
                    "a tagged variant holds one value or named fields",
                ))
            }
        }
    }
    let unknown = match &other {
        Some(ident) => quote!(_ => Self::#ident,),
        None => quote!(found => return ::std::result::Result::Err(
            crate::engine::json::unknown_variant(found, &[#(#names),*])),),
    };
    let from = match &container.tag {
        Some(tag) => quote! {
            let o = crate::engine::json::object(v, #what)?;
            ::std::result::Result::Ok(match crate::engine::json::tag(o, #tag)? {
                #(#read_arms)*
                #unknown
            })
        },
        None => quote! {
            ::std::result::Result::Ok(match crate::engine::json::unit_variant(v)? {
                #(#read_arms)*
                #unknown
            })
        },
    };
    let to = quote! {
        match self { #(#write_arms)* }
    };
    Ok((from, to))
}

/// `StepStart` → `step_start`, as serde's `rename_all = "snake_case"`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}
