// The theme the app last showed (the app keeps it in localStorage: platform/web.rs), put on
// <html> before the first paint, so the prerendered first frame (#shell) has the user's colours
// and not the system's; main.css keys on it. A classic script in <head>: it runs before the
// body is painted. Without storage (a private window that refuses it) the system's theme shows.
try {
  const theme = localStorage.getItem("nexus-theme");
  if (theme === "dark" || theme === "light") document.documentElement.classList.add("look-" + theme);
} catch (e) {
  // Storage refused: the system's theme.
}
