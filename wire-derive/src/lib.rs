//! `#[derive(Wire)]`: writes `opencode_nexus::engine::wire::Wire` for a struct or an enum, so
//! that every field of every type on the store protocol is written and read, in declaration
//! order, without a hand-kept list that could miss one.
//!
//! - A struct is its fields, one after the other.
//! - An enum is its variant's index (a varint), then that variant's fields. A variant under
//!   `#[cfg(..)]` keeps its index and its `cfg`, so both ends of one build agree.
//!
//! Only for types inside the app's crate (the generated code names `crate::engine::wire`).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields};

#[proc_macro_derive(Wire)]
pub fn derive_wire(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "derive(Wire) does not take generic types",
        ));
    }
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
