// The host page's script: renders an MCP Apps view in a sandboxed iframe
// with the CSP its resource declares, and bridges it to the MCP server
// through the official ext-apps AppBridge. Tool calls from the view go to
// `window.hostCallTool`, which the test runner provides (its official
// TypeScript SDK client talks to the server over Streamable HTTP).
import { AppBridge, PostMessageTransport, buildAllowAttribute } from '@modelcontextprotocol/ext-apps/app-bridge';

const sources = (list) => (list && list.length ? list.join(' ') : '');

/** The CSP the extension prescribes: its restrictive default, widened only by declared origins. */
export function cspFor(csp = {}) {
    const resource = sources(csp.resourceDomains);
    const connect = sources(csp.connectDomains);
    return [
        "default-src 'none'",
        `script-src 'self' 'unsafe-inline' ${resource}`.trim(),
        `style-src 'self' 'unsafe-inline' ${resource}`.trim(),
        `img-src 'self' data: ${resource}`.trim(),
        `font-src 'self' ${resource}`.trim(),
        `media-src 'self' data: ${resource}`.trim(),
        connect ? `connect-src ${connect}` : "connect-src 'none'",
        csp.frameDomains && csp.frameDomains.length ? `frame-src ${sources(csp.frameDomains)}` : "frame-src 'none'",
        csp.baseUriDomains && csp.baseUriDomains.length ? `base-uri ${sources(csp.baseUriDomains)}` : "base-uri 'self'",
        "object-src 'none'",
    ].join('; ');
}

function withCsp(html, policy) {
    const meta = `<meta http-equiv="Content-Security-Policy" content="${policy.replace(/"/g, '&quot;')}">`;
    return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (head) => `${head}${meta}`) : meta + html;
}

/** Mounts a view: `{ html, ui, toolInput, toolResult }`; resolves once the view has initialized. */
window.mountView = async ({ html, ui = {}, toolInput, toolResult }) => {
    const policy = cspFor(ui.csp);
    const iframe = document.createElement('iframe');
    iframe.id = 'view';
    // No allow-same-origin: the view runs in an opaque origin.
    iframe.setAttribute('sandbox', 'allow-scripts');
    const allow = buildAllowAttribute(ui.permissions);
    if (allow) iframe.setAttribute('allow', allow);
    iframe.style.cssText = 'width:100%;height:600px;border:' + (ui.prefersBorder ? '1px solid #ccc' : '0');
    document.getElementById('host').append(iframe);

    const bridge = new AppBridge(
        null,
        { name: 'mcp-server-browser-test-host', version: '1.0.0' },
        { serverTools: {}, logging: {}, sandbox: { csp: ui.csp ?? {} } },
    );
    bridge.oncalltool = async (params) => window.hostCallTool(params);
    bridge.onsizechange = ({ height }) => {
        if (height) iframe.style.height = `${Math.min(height + 20, 1200)}px`;
    };
    const initialized = new Promise((resolve) => {
        bridge.oninitialized = () => {
            bridge.sendToolInput({ arguments: toolInput ?? {} });
            bridge.sendToolResult(toolResult);
            resolve();
        };
    });
    await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
    iframe.srcdoc = withCsp(html, policy);
    await initialized;
    window.viewPolicy = policy;
    return policy;
};
