//! The WebView2 loader, built into the Windows .exe made with MinGW (`x86_64-pc-windows-gnu`).
//!
//! Microsoft ships its loader as `WebView2Loader.dll` and as a static library built for MSVC;
//! GNU ld can link only the DLL, and an .exe linked against it does not start without that file
//! beside it. The five functions below take its place. They live in the binary itself, so the
//! linker resolves the WebView2 bindings' calls to them and never pulls in the DLL's import
//! library: the .exe imports only system DLLs (`scripts/windows.sh` checks that).
//!
//! They do what the loader does: find a WebView2 Runtime (a fixed-version folder given by the
//! caller or by `WEBVIEW2_BROWSER_EXECUTABLE_FOLDER`; otherwise the installed Evergreen
//! runtime, then Microsoft Edge Beta, Dev and Canary, or the reverse order when
//! `WEBVIEW2_RELEASE_CHANNEL_PREFERENCE=1`; each per machine, then per user), load its
//! `EmbeddedBrowserWebView.dll` and hand the request to it. Group-policy overrides of the
//! runtime folder are not read.

use std::ffi::{c_void, OsString};
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

type Hresult = i32;
type Pcwstr = *const u16;
type Hkey = isize;

const S_OK: Hresult = 0;
const E_FAIL: Hresult = 0x8000_4005_u32 as i32;
const E_POINTER: Hresult = 0x8000_4003_u32 as i32;
const E_INVALIDARG: Hresult = 0x8007_0057_u32 as i32;
const E_OUTOFMEMORY: Hresult = 0x8007_000E_u32 as i32;
/// `HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)`: no usable runtime was found.
const RUNTIME_NOT_FOUND: Hresult = 0x8007_0002_u32 as i32;

// Predefined keys are sign-extended 32-bit values.
const HKEY_CURRENT_USER: Hkey = 0x8000_0001_u32 as i32 as Hkey;
const HKEY_LOCAL_MACHINE: Hkey = 0x8000_0002_u32 as i32 as Hkey;
const RRF_RT_REG_SZ: u32 = 0x0000_0002;
/// The updater that registers the runtime is 32-bit: its keys are in the 32-bit view.
const RRF_SUBKEY_WOW6432KEY: u32 = 0x0002_0000;
const ERROR_SUCCESS: i32 = 0;
/// Resolve the runtime DLL's own dependencies from its folder.
const LOAD_WITH_ALTERED_SEARCH_PATH: u32 = 0x0000_0008;

/// The oldest runtime the WebView2 1.0 SDK supports is 86.0.616.0.
const MIN_RUNTIME_BUILD: u64 = 616;

const CLIENT_STATE: &str = r"SOFTWARE\Microsoft\EdgeUpdate\ClientState\";
/// Release channels in the default search order: the WebView2 Runtime, then Edge Beta, Dev
/// and Canary. The suffix is what the version string carries for a preview channel.
const CHANNELS: [(&str, &str); 4] = [
    ("{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}", ""),
    ("{2CD8A007-E189-409D-A2C8-9AF4EF3C72AA}", " beta"),
    ("{0D50BFEC-CD6A-4F9A-964C-C7416E3ACB10}", " dev"),
    ("{65C35B14-6C1D-4122-AC46-7148CC9D6497}", " canary"),
];

#[link(name = "kernel32")]
extern "system" {
    fn LoadLibraryExW(name: Pcwstr, file: *mut c_void, flags: u32) -> *mut c_void;
    fn GetProcAddress(module: *mut c_void, name: *const u8) -> *mut c_void;
    fn GetLastError() -> u32;
}

#[link(name = "advapi32")]
extern "system" {
    fn RegGetValueW(
        key: Hkey,
        sub_key: Pcwstr,
        value: Pcwstr,
        flags: u32,
        kind: *mut u32,
        data: *mut c_void,
        size: *mut u32,
    ) -> i32;
}

#[link(name = "ole32")]
extern "system" {
    fn CoTaskMemAlloc(size: usize) -> *mut c_void;
}

#[link(name = "version")]
extern "system" {
    fn GetFileVersionInfoSizeW(file: Pcwstr, handle: *mut u32) -> u32;
    fn GetFileVersionInfoW(file: Pcwstr, handle: u32, len: u32, data: *mut c_void) -> i32;
    fn VerQueryValueW(
        block: *const c_void,
        sub_block: Pcwstr,
        buffer: *mut *mut c_void,
        len: *mut u32,
    ) -> i32;
}

/// `VS_FIXEDFILEINFO`, the numeric part of a file's version resource.
#[allow(dead_code)] // the layout of the Windows structure; only the version is read
#[repr(C)]
struct FixedFileInfo {
    signature: u32,
    struc_version: u32,
    file_version_ms: u32,
    file_version_ls: u32,
    product_version_ms: u32,
    product_version_ls: u32,
    file_flags_mask: u32,
    file_flags: u32,
    file_os: u32,
    file_type: u32,
    file_subtype: u32,
    file_date_ms: u32,
    file_date_ls: u32,
}

/// How the runtime was found; the runtime DLL is told which.
#[derive(Clone, Copy)]
#[repr(i32)]
enum RuntimeKind {
    Installed = 0,
    FixedVersion = 1,
}

struct Runtime {
    client_dll: PathBuf,
    /// e.g. "131.0.2903.112", or "133.0.3065.4 canary" for a preview channel.
    version: String,
    kind: RuntimeKind,
}

/// `CreateWebViewEnvironmentWithOptionsInternal`, exported by `EmbeddedBrowserWebView.dll`.
type CreateInternal = unsafe extern "system" fn(
    check_running_instance: bool,
    kind: RuntimeKind,
    user_data_folder: Pcwstr,
    options: *mut c_void,
    handler: *mut c_void,
) -> Hresult;

fn wide(s: &std::ffi::OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// A NUL-terminated UTF-16 string from the caller; `None` for null or empty.
///
/// # Safety
/// `p` is null or points to a NUL-terminated UTF-16 string.
unsafe fn from_wide(p: Pcwstr) -> Option<OsString> {
    if p.is_null() {
        return None;
    }
    let mut len = 0;
    while *p.add(len) != 0 {
        len += 1;
    }
    (len > 0).then(|| OsString::from_wide(std::slice::from_raw_parts(p, len)))
}

fn env_nonempty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

fn hresult_from_win32(code: u32) -> Hresult {
    if code == 0 {
        E_FAIL
    } else {
        ((code & 0xFFFF) | 0x8007_0000) as i32
    }
}

/// A REG_SZ value from the 32-bit view of `root\sub_key`.
fn registry_string(root: Hkey, sub_key: &str, value: &str) -> Option<String> {
    let sub_key = wide(sub_key.as_ref());
    let value = wide(value.as_ref());
    let flags = RRF_RT_REG_SZ | RRF_SUBKEY_WOW6432KEY;
    let mut size = 0u32;
    // SAFETY: the strings are NUL-terminated; a null buffer asks for the size in bytes.
    let status = unsafe {
        RegGetValueW(
            root,
            sub_key.as_ptr(),
            value.as_ptr(),
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut size,
        )
    };
    if status != ERROR_SUCCESS || size < 2 {
        return None;
    }
    let mut buf = vec![0u16; (size as usize).div_ceil(2)];
    let mut size = (buf.len() * 2) as u32;
    // SAFETY: `buf` holds `size` bytes.
    let status = unsafe {
        RegGetValueW(
            root,
            sub_key.as_ptr(),
            value.as_ptr(),
            flags,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if status != ERROR_SUCCESS {
        return None;
    }
    let len = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    Some(String::from_utf16_lossy(&buf[..len]))
}

/// The numeric version in a file's version resource, as "a.b.c.d".
fn file_version(path: &Path) -> Option<String> {
    let name = wide(path.as_os_str());
    let mut handle = 0u32;
    // SAFETY: `name` is NUL-terminated; the buffer is as large as the size call said.
    unsafe {
        let size = GetFileVersionInfoSizeW(name.as_ptr(), &mut handle);
        if size == 0 {
            return None;
        }
        let mut block = vec![0u8; size as usize];
        if GetFileVersionInfoW(name.as_ptr(), 0, size, block.as_mut_ptr().cast()) == 0 {
            return None;
        }
        let root = wide("\\".as_ref());
        let mut info: *mut c_void = std::ptr::null_mut();
        let mut len = 0u32;
        if VerQueryValueW(block.as_ptr().cast(), root.as_ptr(), &mut info, &mut len) == 0
            || info.is_null()
            || (len as usize) < std::mem::size_of::<FixedFileInfo>()
        {
            return None;
        }
        let info = &*(info as *const FixedFileInfo);
        Some(format!(
            "{}.{}.{}.{}",
            info.file_version_ms >> 16,
            info.file_version_ms & 0xFFFF,
            info.file_version_ls >> 16,
            info.file_version_ls & 0xFFFF
        ))
    }
}

/// "a.b.c.d" (anything after a space, such as a channel name, is ignored) as four numbers.
fn parse_version(v: &str) -> Option<[u64; 4]> {
    let numbers = v.split(' ').next()?;
    let mut out = [0u64; 4];
    let mut count = 0;
    for part in numbers.trim().split('.') {
        if count == 4 {
            return None;
        }
        out[count] = part.parse().ok()?;
        count += 1;
    }
    (count == 4).then_some(out)
}

fn supported(version: &str) -> bool {
    parse_version(version).is_some_and(|v| v[2] >= MIN_RUNTIME_BUILD)
}

/// `<runtime folder>\EBWebView\x64\EmbeddedBrowserWebView.dll`
fn client_dll(folder: &Path) -> PathBuf {
    folder
        .join("EBWebView")
        .join("x64")
        .join("EmbeddedBrowserWebView.dll")
}

fn find_runtime(browser_folder: Option<OsString>) -> Option<Runtime> {
    if let Some(folder) =
        browser_folder.or_else(|| env_nonempty("WEBVIEW2_BROWSER_EXECUTABLE_FOLDER"))
    {
        let client_dll = client_dll(Path::new(&folder));
        let version = file_version(&client_dll)?;
        return supported(&version).then_some(Runtime {
            client_dll,
            version,
            kind: RuntimeKind::FixedVersion,
        });
    }
    let mut channels = CHANNELS.to_vec();
    if env_nonempty("WEBVIEW2_RELEASE_CHANNEL_PREFERENCE").is_some_and(|v| v == "1") {
        channels.reverse();
    }
    for (guid, suffix) in channels {
        for root in [HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER] {
            // The value is the runtime's versioned folder, e.g. `...\Application\131.0.2903.112`.
            let Some(folder) = registry_string(root, &format!("{CLIENT_STATE}{guid}"), "EBWebView")
            else {
                continue;
            };
            let folder = PathBuf::from(folder.trim_end_matches(['\\', '/']));
            let Some(version) = folder.file_name().map(|v| v.to_string_lossy().into_owned()) else {
                continue;
            };
            let client_dll = client_dll(&folder);
            if supported(&version) && client_dll.is_file() {
                return Some(Runtime {
                    client_dll,
                    version: format!("{version}{suffix}"),
                    kind: RuntimeKind::Installed,
                });
            }
        }
    }
    None
}

/// Whether a WebView2 Runtime the window can use is installed (or named by
/// `WEBVIEW2_BROWSER_EXECUTABLE_FOLDER`).
pub fn runtime_installed() -> bool {
    find_runtime(None).is_some()
}

/// What a user without the runtime is told, instead of a crash: on standard error and in a
/// message box (the window it would have opened cannot be shown).
pub const MISSING_RUNTIME: &str = "OpenCode Nexus cannot open its window: the Microsoft WebView2 \
Runtime is not installed. Install it from https://go.microsoft.com/fwlink/p/?LinkId=2124703 \
(Microsoft's Evergreen installer), then start OpenCode Nexus again. The command line works \
without it: run `opencode-nexus --help` in a terminal.";

#[link(name = "user32")]
extern "system" {
    fn MessageBoxW(window: *mut c_void, text: Pcwstr, caption: Pcwstr, kind: u32) -> i32;
}

/// Says [`MISSING_RUNTIME`] on standard error and in a message box, and waits for the box to be
/// closed.
pub fn explain_missing_runtime() {
    const MB_OK: u32 = 0x0000_0000;
    const MB_ICONERROR: u32 = 0x0000_0010;
    eprintln!("error: {MISSING_RUNTIME}");
    tracing::error!("no WebView2 Runtime is installed; the window cannot open");
    let text = wide(std::ffi::OsStr::new(MISSING_RUNTIME));
    let caption = wide(std::ffi::OsStr::new("OpenCode Nexus"));
    // SAFETY: both strings are NUL-terminated and outlive the call; no owner window.
    unsafe {
        MessageBoxW(
            std::ptr::null_mut(),
            text.as_ptr(),
            caption.as_ptr(),
            MB_OK | MB_ICONERROR,
        );
    }
}

/// Copies `s` into a NUL-terminated string allocated with `CoTaskMemAlloc` (the caller frees it
/// with `CoTaskMemFree`, as with the loader's own).
///
/// # Safety
/// `out` is valid for a write.
unsafe fn co_task_string(s: &str, out: *mut *mut u16) -> Hresult {
    let w: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
    let p = CoTaskMemAlloc(w.len() * 2) as *mut u16;
    if p.is_null() {
        return E_OUTOFMEMORY;
    }
    std::ptr::copy_nonoverlapping(w.as_ptr(), p, w.len());
    *out = p;
    S_OK
}

/// Creates a WebView2 environment: finds the runtime and hands the request to it.
///
/// # Safety
/// The strings are null or NUL-terminated; `options` is null or an
/// `ICoreWebView2EnvironmentOptions`; `handler` is an
/// `ICoreWebView2CreateCoreWebView2EnvironmentCompletedHandler`.
#[no_mangle]
pub unsafe extern "system" fn CreateCoreWebView2EnvironmentWithOptions(
    browser_executable_folder: Pcwstr,
    user_data_folder: Pcwstr,
    environment_options: *mut c_void,
    handler: *mut c_void,
) -> Hresult {
    if handler.is_null() {
        return E_POINTER;
    }
    let Some(runtime) = find_runtime(from_wide(browser_executable_folder)) else {
        return RUNTIME_NOT_FOUND;
    };
    let user_data =
        from_wide(user_data_folder).or_else(|| env_nonempty("WEBVIEW2_USER_DATA_FOLDER"));
    let user_data = user_data.map(|d| wide(&d));
    let dll = wide(runtime.client_dll.as_os_str());
    // The runtime calls the handler later and its objects live in this DLL: it stays loaded.
    let module = LoadLibraryExW(
        dll.as_ptr(),
        std::ptr::null_mut(),
        LOAD_WITH_ALTERED_SEARCH_PATH,
    );
    if module.is_null() {
        return hresult_from_win32(GetLastError());
    }
    let create = GetProcAddress(
        module,
        c"CreateWebViewEnvironmentWithOptionsInternal"
            .as_ptr()
            .cast(),
    );
    if create.is_null() {
        return hresult_from_win32(GetLastError());
    }
    // SAFETY: the runtime DLL exports this function with this signature.
    let create: CreateInternal = std::mem::transmute(create);
    create(
        true,
        runtime.kind,
        user_data.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
        environment_options,
        handler,
    )
}

/// [`CreateCoreWebView2EnvironmentWithOptions`] with the defaults.
///
/// # Safety
/// As for [`CreateCoreWebView2EnvironmentWithOptions`].
#[no_mangle]
pub unsafe extern "system" fn CreateCoreWebView2Environment(handler: *mut c_void) -> Hresult {
    CreateCoreWebView2EnvironmentWithOptions(
        std::ptr::null(),
        std::ptr::null(),
        std::ptr::null_mut(),
        handler,
    )
}

/// The version of the runtime that would be used, e.g. "131.0.2903.112".
///
/// # Safety
/// `browser_executable_folder` is null or NUL-terminated; `version_info` is valid for a write.
#[no_mangle]
pub unsafe extern "system" fn GetAvailableCoreWebView2BrowserVersionString(
    browser_executable_folder: Pcwstr,
    version_info: *mut *mut u16,
) -> Hresult {
    if version_info.is_null() {
        return E_POINTER;
    }
    *version_info = std::ptr::null_mut();
    match find_runtime(from_wide(browser_executable_folder)) {
        Some(runtime) => co_task_string(&runtime.version, version_info),
        None => RUNTIME_NOT_FOUND,
    }
}

/// As [`GetAvailableCoreWebView2BrowserVersionString`]; the options are not consulted.
///
/// # Safety
/// As for [`GetAvailableCoreWebView2BrowserVersionString`].
#[no_mangle]
pub unsafe extern "system" fn GetAvailableCoreWebView2BrowserVersionStringWithOptions(
    browser_executable_folder: Pcwstr,
    _environment_options: *mut c_void,
    version_info: *mut *mut u16,
) -> Hresult {
    GetAvailableCoreWebView2BrowserVersionString(browser_executable_folder, version_info)
}

/// Sets `result` to -1, 0 or 1 as `version1` is older than, the same as or newer than
/// `version2`; a channel name after the numbers is ignored.
///
/// # Safety
/// The strings are null or NUL-terminated; `result` is null or valid for a write.
#[no_mangle]
pub unsafe extern "system" fn CompareBrowserVersions(
    version1: Pcwstr,
    version2: Pcwstr,
    result: *mut i32,
) -> Hresult {
    if result.is_null() {
        return E_INVALIDARG;
    }
    let parse = |p: Pcwstr| from_wide(p).and_then(|s| parse_version(&s.to_string_lossy()));
    match (parse(version1), parse(version2)) {
        (Some(a), Some(b)) => {
            *result = a.cmp(&b) as i32;
            S_OK
        }
        _ => E_INVALIDARG,
    }
}
