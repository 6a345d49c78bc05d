() => {
  // The chat's accessibility fixes that Gradio's components cannot be asked for (WCAG 2.1 AA, issue #19).
  // Run once the app is on the page, standalone or embedded in the portal, and again as messages arrive.
  //  1. Chinese runs in Gradio's own labels (buttons, examples, field labels) get lang="zh" (3.1.2): a screen
  //     reader then reads them with a Chinese voice. The chat's messages carry their lang from the server.
  //  2. On the chat's own page the question box has the focus from the start; embedded in the portal's page
  //     (<gradio-app src=...>), the widget does not take it from the page (a visitor reading the page with a
  //     screen reader would be thrown to the widget).
  //  3. Gradio names each chat message "bot's message: " + its raw Markdown/HTML source, so a screen reader
  //     would read the tags aloud; without that label it reads the message itself.
  const CHINESE_RUN = /[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]+(?:[\s·]*[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff60]+)*/g;
  const SKIP = "script, style, textarea, input, .message-content, [data-testid='bot'], [data-testid='user']";

  function markChinese(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => {
        CHINESE_RUN.lastIndex = 0;
        if (!CHINESE_RUN.test(node.nodeValue)) return NodeFilter.FILTER_REJECT;
        const parent = node.parentElement;
        if (!parent || parent.closest(SKIP)) return NodeFilter.FILTER_REJECT;
        const language = parent.closest("[lang]");  // the nearest lang decides (already marked: zh)
        return language && language.lang.startsWith("zh") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT;
      },
    });
    const found = [];
    while (walker.nextNode()) found.push(walker.currentNode);
    for (const node of found) {
      const text = node.nodeValue;
      const english = text.replace(CHINESE_RUN, "").replace(/[\s·]/g, "");
      if (!english) {  // all Chinese: mark the element, keep Gradio's own text node
        node.parentElement.setAttribute("lang", "zh");
        continue;
      }
      const pieces = document.createDocumentFragment();
      let last = 0;
      for (const match of text.matchAll(CHINESE_RUN)) {
        // a space before the span as a no-break space: in a flex item (Gradio's buttons) a trailing space collapses
        pieces.append(text.slice(last, match.index).replace(/ $/, "\u00a0"));
        const span = document.createElement("span");
        span.lang = "zh";
        span.textContent = match[0];
        pieces.append(span);
        last = match.index + match[0].length;
      }
      pieces.append(text.slice(last));
      node.replaceWith(pieces);
    }
  }

  function dropMarkupNames(root) {
    for (const message of root.querySelectorAll("[data-testid='bot'][aria-label], [data-testid='user'][aria-label]")) {
      message.removeAttribute("aria-label");
    }
  }

  function fix(root) {
    dropMarkupNames(root);
    markChinese(root);
  }

  for (const host of document.querySelectorAll("gradio-app")) {
    const root = host.shadowRoot || host;
    // The chat is in English: embedded in a page in another language (<html lang="zh">), it says so itself.
    for (const container of root.querySelectorAll(".gradio-container")) container.setAttribute("lang", "en");
    let pending = false;
    fix(root);
    if (!host.hasAttribute("src")) root.querySelector("textarea")?.focus();
    new MutationObserver(() => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; fix(root); });
    }).observe(root, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["aria-label"] });
  }
}
