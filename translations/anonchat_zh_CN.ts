<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>BanGate</name>
    <message>
        <source>your address is banned from this server</source>
        <translation>你的地址已被此服务器封禁</translation>
    </message>
</context>
<context>
    <name>CommandLine</name>
    <message>
        <source>anonchat: talk to a stranger. With no flags it hosts a server on this computer and opens its chat window.</source>
        <translation>anonchat：和陌生人聊天。不带参数时，在本机运行服务器并打开聊天窗口。</translation>
    </message>
    <message>
        <source>Join the server at URL (http://, https://, ws://…/ws or wss://…/ws) instead of hosting one.</source>
        <translation>加入位于 URL 的服务器（http://、https://、ws://…/ws 或 wss://…/ws），不在本机运行服务器。</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>URL</translation>
    </message>
    <message>
        <source>The language of the window: zh_CN or en (default: the system&apos;s).</source>
        <translation>窗口语言：zh_CN 或 en（默认跟随系统）。</translation>
    </message>
    <message>
        <source>LANG</source>
        <translation>LANG</translation>
    </message>
    <message>
        <source>unexpected argument &apos;%1&apos;</source>
        <translation>多余的参数“%1”</translation>
    </message>
    <message>
        <source>invalid value for --lang: &apos;%1&apos; (expected zh_CN or en)</source>
        <translation>--lang 的值无效：“%1”（应为 zh_CN 或 en）</translation>
    </message>
    <message>
        <source>invalid value for --connect: &apos;%1&apos; (expected http://, https://, ws://…/ws or wss://…/ws)</source>
        <translation>--connect 的值无效：“%1”（应为 http://、https://、ws://…/ws 或 wss://…/ws）</translation>
    </message>
</context>
<context>
    <name>ConversationExport</name>
    <message>
        <source>anonchat conversation, saved %1</source>
        <translation>anonchat 聊天记录，保存于 %1</translation>
    </message>
    <message>
        <source>You</source>
        <translation>我</translation>
    </message>
    <message>
        <source>not delivered</source>
        <translation>未送达</translation>
    </message>
    <message>
        <source>Stranger</source>
        <translation>陌生人</translation>
    </message>
    <message>
        <source>anonchat conversation</source>
        <translation>anonchat 聊天记录</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>保存于 %1</translation>
    </message>
    <message>
        <source>Could not save %1: %2</source>
        <translation>无法保存 %1：%2</translation>
    </message>
</context>
<context>
    <name>PowGate</name>
    <message>
        <source>solve welcome.pow and send its nonce as pow_nonce</source>
        <translation>请解出 welcome.pow 的题目，并把随机数作为 pow_nonce 发送</translation>
    </message>
    <message>
        <source>pow_nonce does not solve this connection&apos;s challenge</source>
        <translation>pow_nonce 不是本连接题目的解</translation>
    </message>
</context>
<context>
    <name>ServerOptions</name>
    <message>
        <source>invalid value for --%1: &apos;%2&apos; (expected a whole number from %3 to %4)</source>
        <translation>--%1 的值无效：“%2”（应为 %3 到 %4 之间的整数）</translation>
    </message>
    <message>
        <source>invalid value for --%1: &apos;%2&apos; (expected seconds from 0 to %3)</source>
        <translation>--%1 的值无效：“%2”（应为 0 到 %3 之间的秒数）</translation>
    </message>
    <message>
        <source>cannot read --%1 file &apos;%2&apos;: %3</source>
        <translation>无法读取 --%1 文件“%2”：%3</translation>
    </message>
    <message>
        <source>--tls-cert and --tls-key must be given together</source>
        <translation>--tls-cert 和 --tls-key 必须同时指定</translation>
    </message>
    <message>
        <source>--tls-cert: TLS is not available (no OpenSSL 3 library found)</source>
        <translation>--tls-cert：TLS 不可用（未找到 OpenSSL 3 库）</translation>
    </message>
    <message>
        <source>invalid --tls-cert file &apos;%1&apos;: no PEM or DER certificate in it</source>
        <translation>--tls-cert 文件“%1”无效：其中没有 PEM 或 DER 格式的证书</translation>
    </message>
    <message>
        <source>invalid --tls-key file &apos;%1&apos;: no unencrypted private key of the certificate&apos;s kind (RSA, EC or DSA) in it</source>
        <translation>--tls-key 文件“%1”无效：其中没有与证书同类（RSA、EC 或 DSA）的未加密私钥</translation>
    </message>
    <message>
        <source>invalid --tls-key file &apos;%1&apos;: not the key of the certificate in &apos;%2&apos; (%3)</source>
        <translation>--tls-key 文件“%1”无效：它不是“%2”中证书的私钥（%3）</translation>
    </message>
    <message>
        <source>Address to listen on (0.0.0.0 to share on a LAN).</source>
        <translation>监听的地址（0.0.0.0 表示在局域网中共享）。</translation>
    </message>
    <message>
        <source>ADDR</source>
        <translation>ADDR</translation>
    </message>
    <message>
        <source>The one port for the page, /healthz, /metrics and /ws (0 picks a free one).</source>
        <translation>网页、/healthz、/metrics 和 /ws 共用的端口（0 表示自动选择空闲端口）。</translation>
    </message>
    <message>
        <source>N</source>
        <translation>N</translation>
    </message>
    <message>
        <source>SQLite file, or postgresql://user:pass@host:port/dbname.</source>
        <translation>SQLite 文件，或 postgresql://user:pass@host:port/dbname。</translation>
    </message>
    <message>
        <source>PATH|URL</source>
        <translation>PATH|URL</translation>
    </message>
    <message>
        <source>redis://host:port: share the queue with other servers.</source>
        <translation>redis://host:port：与其他服务器共享匹配队列。</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>URL</translation>
    </message>
    <message>
        <source>Certificate file: serve https:// and wss://.</source>
        <translation>证书文件：提供 https:// 和 wss:// 服务。</translation>
    </message>
    <message>
        <source>FILE</source>
        <translation>FILE</translation>
    </message>
    <message>
        <source>Private key file for --tls-cert.</source>
        <translation>--tls-cert 对应的私钥文件。</translation>
    </message>
    <message>
        <source>An extra page origin allowed to open /ws (repeatable).</source>
        <translation>额外允许打开 /ws 的网页来源（可重复）。</translation>
    </message>
    <message>
        <source>ORIGIN</source>
        <translation>ORIGIN</translation>
    </message>
    <message>
        <source>Connections beyond this get server_busy.</source>
        <translation>超过此连接数时返回 server_busy。</translation>
    </message>
    <message>
        <source>Connections from one address beyond this get server_busy; 0 turns it off.</source>
        <translation>同一地址的连接超过此数时返回 server_busy；0 表示不限制。</translation>
    </message>
    <message>
        <source>Messages per second per user, bursts up to twice that; 0 turns limits off.</source>
        <translation>每位用户每秒可发的消息数，突发可达两倍；0 表示不限制。</translation>
    </message>
    <message>
        <source>Seconds a dropped user keeps identity and room.</source>
        <translation>断线用户保留身份和聊天室的秒数。</translation>
    </message>
    <message>
        <source>S</source>
        <translation>S</translation>
    </message>
    <message>
        <source>Purge messages older than N days (0 keeps them).</source>
        <translation>清除 N 天前的消息（0 表示永久保留）。</translation>
    </message>
    <message>
        <source>debug, info or warning.</source>
        <translation>debug、info 或 warning。</translation>
    </message>
    <message>
        <source>LEVEL</source>
        <translation>LEVEL</translation>
    </message>
    <message>
        <source>invalid value for --host: &apos;%1&apos; (expected an IP address)</source>
        <translation>--host 的值无效：“%1”（应为 IP 地址）</translation>
    </message>
    <message>
        <source>invalid value for --db: it is empty</source>
        <translation>--db 的值无效：不能为空</translation>
    </message>
    <message>
        <source>invalid value for --log-level: &apos;%1&apos; (expected debug, info or warning)</source>
        <translation>--log-level 的值无效：“%1”（应为 debug、info 或 warning）</translation>
    </message>
    <message>
        <source>Threads serving WebSockets (anonchat-server: the number of cores).</source>
        <translation>处理 WebSocket 的线程数（anonchat-server 默认为 CPU 核心数）。</translation>
    </message>
    <message>
        <source>invalid value for --redis: &apos;%1&apos; (%2)</source>
        <translation>--redis 的值无效：“%1”（%2）</translation>
    </message>
    <message>
        <source>--redis needs --db postgresql://... (one database shared by every server)</source>
        <translation>--redis 需要 --db postgresql://...（所有服务器共用一个数据库）</translation>
    </message>
    <message>
        <source>invalid value for --db: &apos;%1&apos; (%2; expected postgresql://user:pass@host:port/dbname)</source>
        <translation>--db 的值无效：“%1”（%2；应为 postgresql://user:pass@host:port/dbname）</translation>
    </message>
    <message>
        <source>cannot read --admin-token-file &apos;%1&apos;: %2</source>
        <translation>无法读取 --admin-token-file &apos;%1&apos;：%2</translation>
    </message>
    <message>
        <source>--admin-token-file &apos;%1&apos; is open to group or others: chmod 600 it</source>
        <translation>--admin-token-file &apos;%1&apos; 对同组或其他用户开放：请执行 chmod 600</translation>
    </message>
    <message>
        <source>--admin-token-file &apos;%1&apos;: the token must be one word of 16 or more printable ASCII characters</source>
        <translation>--admin-token-file &apos;%1&apos;：令牌必须是一个由 16 个或更多可打印 ASCII 字符组成的词</translation>
    </message>
    <message>
        <source>File holding the bearer token of /admin/api (mode 600); without it the API is off.</source>
        <translation>存放 /admin/api 持有者令牌的文件（权限 600）；不设置则关闭该 API。</translation>
    </message>
    <message>
        <source>PATH</source>
        <translation>路径</translation>
    </message>
    <message>
        <source>Ban an address for an hour once reporters from N addresses reported it within 24 hours; 0 turns it off.</source>
        <translation>24 小时内被来自 N 个不同地址的用户举报后，封禁该地址一小时；0 表示关闭。</translation>
    </message>
    <message>
        <source>Proof of work a connection must show before queueing: leading zero bits of SHA-256 (0 turns it off, at most 24).</source>
        <translation>连接在排队前必须出示的工作量证明：SHA-256 开头的零比特数（0 为关闭，最多 24）。</translation>
    </message>
    <message>
        <source>Seconds a user with interests or a language waits for a shared one.</source>
        <translation>有兴趣标签或语言的用户等待共同兴趣或语言匹配的秒数。</translation>
    </message>
    <message>
        <source>Microseconds a commit may wait for more messages while others are writing (0 commits at once, at most 5000).</source>
        <translation>有其他写入时，一次提交为等待更多消息可推迟的微秒数（0 表示立即提交，最多 5000）。</translation>
    </message>
    <message>
        <source>US</source>
        <translation>微秒</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ChatActions</name>
    <message>
        <source>&amp;Chat</source>
        <translation>聊天(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation>开始(&amp;S)</translation>
    </message>
    <message>
        <source>Find a stranger to chat with (%1)</source>
        <translation>找一位陌生人聊天（%1）</translation>
    </message>
    <message>
        <source>&amp;Next stranger</source>
        <translation>下一位(&amp;N)</translation>
    </message>
    <message>
        <source>Leave this chat and find someone new (%1)</source>
        <translation>离开当前聊天，换一位新的陌生人（%1）</translation>
    </message>
    <message>
        <source>&amp;Leave</source>
        <translation>离开(&amp;L)</translation>
    </message>
    <message>
        <source>End this chat, or stop looking (%1)</source>
        <translation>结束当前聊天，或停止寻找（%1）</translation>
    </message>
    <message>
        <source>&amp;Report stranger…</source>
        <translation>举报对方(&amp;R)…</translation>
    </message>
    <message>
        <source>Save &amp;conversation…</source>
        <translation>保存聊天记录(&amp;C)…</translation>
    </message>
    <message>
        <source>Se&amp;ttings…</source>
        <translation>设置(&amp;T)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;About anonchat</source>
        <translation>关于 anonchat(&amp;A)</translation>
    </message>
    <message>
        <source>Ser&amp;ver</source>
        <translation>服务器(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Moderation…</source>
        <translation>管理(&amp;M)…</translation>
    </message>
    <message>
        <source>Reports and bans of the server this window chats on</source>
        <translation>本窗口所连服务器的举报与封禁</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ChatControls</name>
    <message>
        <source>&amp;Interests</source>
        <translation>兴趣(&amp;I)</translation>
    </message>
    <message>
        <source>music, travel, games… (optional)</source>
        <translation>音乐、旅行、游戏…（可选）</translation>
    </message>
    <message>
        <source>Up to %1 topics, separated by commas. You are paired with someone who shares one first.</source>
        <translation>最多 %1 个话题，用逗号分隔。会优先为你匹配有共同兴趣的人。</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Next</source>
        <translation>下一个</translation>
    </message>
    <message>
        <source>Leave</source>
        <translation>离开</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ChatSession</name>
    <message>
        <source>Use at most %1 interests of at most %2 characters each.</source>
        <translation>兴趣最多 %1 个，每个最多 %2 个字。</translation>
    </message>
    <message>
        <source>You left the chat.</source>
        <translation>你离开了聊天。</translation>
    </message>
    <message>
        <source>Connection lost. Reconnecting…</source>
        <translation>连接已断开，正在重新连接…</translation>
    </message>
    <message>
        <source>The chat ended while you were offline.</source>
        <translation>你离线期间，聊天已结束。</translation>
    </message>
    <message>
        <source>You&apos;re now chatting with a random stranger. Say hi!</source>
        <translation>你已和一位随机的陌生人连上了，打个招呼吧！</translation>
    </message>
    <message>
        <source>The stranger&apos;s connection dropped. Waiting for them to come back…</source>
        <translation>对方的连接断开了，正在等对方回来…</translation>
    </message>
    <message>
        <source>The stranger is back.</source>
        <translation>对方回来了。</translation>
    </message>
    <message>
        <source>Thank you. The stranger was reported; you will not be matched with them again.</source>
        <translation>谢谢。已举报对方，你们不会再被匹配到一起。</translation>
    </message>
    <message>
        <source>The server could not read a request from this app.</source>
        <translation>服务器无法读取本应用发出的请求。</translation>
    </message>
    <message>
        <source>The server refused a binary frame from this app.</source>
        <translation>服务器拒绝了本应用发出的二进制帧。</translation>
    </message>
    <message>
        <source>The server did not understand a request from this app.</source>
        <translation>服务器无法理解本应用发出的请求。</translation>
    </message>
    <message>
        <source>The server refused a malformed request from this app.</source>
        <translation>服务器拒绝了本应用发出的格式错误的请求。</translation>
    </message>
    <message>
        <source>Your message is empty.</source>
        <translation>消息不能为空。</translation>
    </message>
    <message>
        <source>Your message is too long (at most %1 characters).</source>
        <translation>消息太长了（最多 %1 个字）。</translation>
    </message>
    <message>
        <source>You are not in a chat.</source>
        <translation>你不在聊天中。</translation>
    </message>
    <message>
        <source>You are already in a chat.</source>
        <translation>你已经在聊天中了。</translation>
    </message>
    <message>
        <source>You are not searching for a partner.</source>
        <translation>你没有在寻找聊天对象。</translation>
    </message>
    <message numerus="yes">
        <source>Slow down: try again in %n second(s).</source>
        <translation>
            <numerusform>慢一点：%n 秒后再试。</numerusform>
        </translation>
    </message>
    <message>
        <source>Your previous session could not be restored: the old chat is gone and you have a new identity.</source>
        <translation>无法恢复上次的会话：之前的聊天已不存在，你已获得新的身份。</translation>
    </message>
    <message>
        <source>The server is full. Trying again…</source>
        <translation>服务器已满，正在重试…</translation>
    </message>
    <message>
        <source>The server could not store your message; it was not sent.</source>
        <translation>服务器无法保存你的消息，消息未发送。</translation>
    </message>
    <message>
        <source>The server had an internal error.</source>
        <translation>服务器发生内部错误。</translation>
    </message>
    <message>
        <source>Unknown error.</source>
        <translation>未知错误。</translation>
    </message>
    <message>
        <source>The stranger left the chat.</source>
        <translation>对方离开了聊天。</translation>
    </message>
    <message>
        <source>The stranger moved on to someone new.</source>
        <translation>对方去找下一位了。</translation>
    </message>
    <message>
        <source>The stranger&apos;s connection was lost; the chat has ended.</source>
        <translation>对方的连接已丢失，聊天结束。</translation>
    </message>
    <message>
        <source>You&apos;re now chatting with a random stranger. Say hi! You both like %1.</source>
        <translation>你已和一位随机的陌生人连上了，打个招呼吧！你们都喜欢%1。</translation>
    </message>
    <message>
        <source>This server has banned your address.</source>
        <translation>此服务器已封禁你的地址。</translation>
    </message>
    <message>
        <source>The server asks for a proof of work (a check that you are not a bot) first. Start again to compute it.</source>
        <translation>服务器要求先完成工作量证明（检查你不是机器人）。请重新开始以进行计算。</translation>
    </message>
    <message>
        <source>The server did not accept the proof of work. Start again to compute a new one.</source>
        <translation>服务器没有接受工作量证明。请重新开始以计算新的证明。</translation>
    </message>
    <message>
        <source>You&apos;re now chatting with a random stranger. Say hi! You both speak %1.</source>
        <translation>你已和一位随机的陌生人连上了，打个招呼吧！你们都说%1。</translation>
    </message>
    <message>
        <source>You&apos;re now chatting with a random stranger. Say hi! You both like %1 and speak %2.</source>
        <translation>你已和一位随机的陌生人连上了，打个招呼吧！你们都喜欢%1，也都说%2。</translation>
    </message>
    <message>
        <source>English</source>
        <translation>英语</translation>
    </message>
    <message>
        <source>Chinese</source>
        <translation>中文</translation>
    </message>
</context>
<context>
    <name>anonchat::client::Composer</name>
    <message>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <source>Send the message (Enter). Shift+Enter starts a new line.</source>
        <translation>发送消息（Enter）。Shift+Enter 换行。</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <source>Type a message…</source>
        <translation>输入消息…</translation>
    </message>
    <message>
        <source>Start a chat to send messages</source>
        <translation>开始聊天后才能发送消息</translation>
    </message>
    <message>
        <source>%1 characters too many</source>
        <translation>超出 %1 个字</translation>
    </message>
    <message>
        <source>%1 of %2 characters</source>
        <translation>已输入 %1 / %2 个字</translation>
    </message>
</context>
<context>
    <name>anonchat::client::Connection</name>
    <message>
        <source>the server sent a binary frame</source>
        <translation>服务器发来了二进制帧</translation>
    </message>
    <message>
        <source>the server stopped answering</source>
        <translation>服务器没有响应了</translation>
    </message>
    <message>
        <source>the server did not answer in time</source>
        <translation>服务器未能及时响应</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ConnectionStatus</name>
    <message>
        <source>Copied %1</source>
        <translation>已复制 %1</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Copy the address others can open</source>
        <translation>复制别人可以打开的地址</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>正在连接 %1…</translation>
    </message>
    <message>
        <source>Connected to the server on this computer</source>
        <translation>已连接到本机服务器</translation>
    </message>
    <message>
        <source>Connected to %1</source>
        <translation>已连接到 %1</translation>
    </message>
    <message>
        <source>Connection lost. Reconnecting to %1…</source>
        <translation>连接已断开，正在重新连接 %1…</translation>
    </message>
    <message>
        <source>Shared on your network: %1</source>
        <translation>已在局域网共享：%1</translation>
    </message>
    <message>
        <source>Hosting at %1</source>
        <translation>本机服务器：%1</translation>
    </message>
</context>
<context>
    <name>anonchat::client::HeaderBar</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <source>Server unavailable</source>
        <translation>服务器不可用</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Ready when you are</source>
        <translation>准备就绪</translation>
    </message>
    <message>
        <source>Looking for a stranger…</source>
        <translation>正在寻找陌生人…</translation>
    </message>
    <message>
        <source>Chatting with a stranger</source>
        <translation>正在和陌生人聊天</translation>
    </message>
    <message>
        <source>Chatting with a stranger · you both like %1</source>
        <translation>正在和陌生人聊天 · 你们都喜欢%1</translation>
    </message>
    <message>
        <source>The stranger&apos;s connection dropped…</source>
        <translation>对方的连接断开了…</translation>
    </message>
    <message>
        <source>Chat ended</source>
        <translation>聊天已结束</translation>
    </message>
    <message>
        <source>People online</source>
        <translation>在线人数</translation>
    </message>
    <message numerus="yes">
        <source>%n online</source>
        <translation>
            <numerusform>%n 人在线</numerusform>
        </translation>
    </message>
    <message>
        <source>Checking that you are not a bot… %1%</source>
        <translation>正在检查你不是机器人…%1%</translation>
    </message>
</context>
<context>
    <name>anonchat::client::LocalServerHost</name>
    <message>
        <source>the local server is already running</source>
        <translation>本机服务器已在运行</translation>
    </message>
</context>
<context>
    <name>anonchat::client::MainWindow</name>
    <message>
        <source>Leave</source>
        <translation>离开</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <source>Looking for someone…</source>
        <translation>正在寻找聊天对象…</translation>
    </message>
    <message>
        <source>You will be paired with the next stranger who is looking. People who share one of your interests come first.</source>
        <translation>你将与下一位正在寻找的陌生人配对，有共同兴趣的人优先。</translation>
    </message>
    <message>
        <source>Waiting for the server.</source>
        <translation>正在等待服务器。</translation>
    </message>
    <message>
        <source>Open the settings to choose another server or port.</source>
        <translation>可以在设置中换一个服务器或端口。</translation>
    </message>
    <message>
        <source>Talk to a stranger</source>
        <translation>和陌生人聊聊</translation>
    </message>
    <message>
        <source>Anonymous and one to one. Add some interests if you like, then press Start (%1).</source>
        <translation>匿名，一对一。可以先填几个兴趣，然后点“开始”（%1）。</translation>
    </message>
    <message>
        <source>anonchat</source>
        <translation>anonchat</translation>
    </message>
    <message>
        <source>You&apos;re now chatting with a stranger.</source>
        <translation>你已和一位陌生人连上了。</translation>
    </message>
    <message>
        <source>Stranger is typing…</source>
        <translation>对方正在输入…</translation>
    </message>
    <message>
        <source>Leave this chat and find someone new?</source>
        <translation>离开当前聊天，换一位新的陌生人？</translation>
    </message>
    <message>
        <source>Next stranger</source>
        <translation>下一位</translation>
    </message>
    <message>
        <source>Leave this chat? The stranger will be told you left.</source>
        <translation>要离开当前聊天吗？对方会收到你离开的通知。</translation>
    </message>
    <message>
        <source>The message is too long: at most %1 characters.</source>
        <translation>消息太长了：最多 %1 个字。</translation>
    </message>
    <message>
        <source>You are not in a chat. Press Start to find someone.</source>
        <translation>你不在聊天中。点“开始”找人聊天吧。</translation>
    </message>
    <message>
        <source>Leave the chat?</source>
        <translation>离开聊天？</translation>
    </message>
    <message>
        <source>The conversation will end. You can save it first with Chat › Save conversation.</source>
        <translation>聊天将会结束。你可以先通过“聊天 › 保存聊天记录”保存下来。</translation>
    </message>
    <message>
        <source>Don&apos;t ask again</source>
        <translation>不再询问</translation>
    </message>
    <message>
        <source>Report stranger</source>
        <translation>举报对方</translation>
    </message>
    <message>
        <source>Report this stranger for abuse? You will not be matched with them again.</source>
        <translation>举报这位陌生人的不当行为？你们不会再被匹配到一起。</translation>
    </message>
    <message>
        <source>Report</source>
        <translation>举报</translation>
    </message>
    <message>
        <source>About anonchat</source>
        <translation>关于 anonchat</translation>
    </message>
    <message>
        <source>&lt;h3&gt;anonchat %1&lt;/h3&gt;&lt;p&gt;Talk to a random stranger, anonymously and one to one.&lt;/p&gt;&lt;p&gt;This window can host its own server, so people on your network can join from a browser, or join a server somewhere else.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;anonchat %1&lt;/h3&gt;&lt;p&gt;匿名、一对一地和随机的陌生人聊天。&lt;/p&gt;&lt;p&gt;这个窗口可以在本机运行服务器，让同一网络中的人用浏览器加入；也可以加入其他地方的服务器。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Text file (*.txt)</source>
        <translation>文本文件 (*.txt)</translation>
    </message>
    <message>
        <source>Web page (*.html)</source>
        <translation>网页 (*.html)</translation>
    </message>
    <message>
        <source>Save conversation</source>
        <translation>保存聊天记录</translation>
    </message>
    <message>
        <source>Saved to %1</source>
        <translation>已保存到 %1</translation>
    </message>
    <message>
        <source>Switch servers? This chat will end.</source>
        <translation>要切换服务器吗？当前聊天将会结束。</translation>
    </message>
    <message>
        <source>Switch</source>
        <translation>切换</translation>
    </message>
    <message>
        <source>New message from the stranger</source>
        <translation>陌生人发来新消息</translation>
    </message>
    <message>
        <source>Quit and leave this chat?</source>
        <translation>退出并离开当前聊天？</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
</context>
<context>
    <name>anonchat::client::MessageDelegate</name>
    <message>
        <source>Sending…</source>
        <translation>正在发送…</translation>
    </message>
    <message>
        <source>Delivered</source>
        <translation>已送达</translation>
    </message>
    <message>
        <source>Not delivered</source>
        <translation>未送达</translation>
    </message>
</context>
<context>
    <name>anonchat::client::MessageView</name>
    <message>
        <source>Conversation</source>
        <translation>聊天内容</translation>
    </message>
    <message>
        <source>Copy text</source>
        <translation>复制文字</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ModerationClient</name>
    <message>
        <source>no server</source>
        <translation>没有服务器</translation>
    </message>
    <message>
        <source>not JSON</source>
        <translation>不是 JSON</translation>
    </message>
    <message>
        <source>unexpected contents</source>
        <translation>内容不符合预期</translation>
    </message>
    <message>
        <source>The server refused the moderation token.</source>
        <translation>服务器拒绝了管理令牌。</translation>
    </message>
    <message>
        <source>Not found (already handled, or moderation is off on this server).</source>
        <translation>未找到（已处理，或该服务器未开启管理功能）。</translation>
    </message>
    <message>
        <source>The server answered %1: %2</source>
        <translation>服务器返回 %1：%2</translation>
    </message>
    <message>
        <source>no reason given</source>
        <translation>未说明原因</translation>
    </message>
    <message>
        <source>The server could not be reached: %1</source>
        <translation>无法连接服务器：%1</translation>
    </message>
    <message>
        <source>The server&apos;s answer was not understood (%1).</source>
        <translation>无法理解服务器的回复（%1）。</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ModerationLauncher</name>
    <message>
        <source>Moderation</source>
        <translation>管理</translation>
    </message>
    <message>
        <source>Not connected to a server yet.</source>
        <translation>尚未连接到服务器。</translation>
    </message>
    <message>
        <source>Moderation token</source>
        <translation>管理令牌</translation>
    </message>
    <message>
        <source>The moderation token of %1
(the contents of its --admin-token-file):</source>
        <translation>%1 的管理令牌
（即其 --admin-token-file 文件的内容）：</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ModerationWindow</name>
    <message>
        <source>Moderation — anonchat</source>
        <translation>管理 — anonchat</translation>
    </message>
    <message>
        <source>&amp;Reports:</source>
        <translation>举报(&amp;R)：</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>待处理</translation>
    </message>
    <message>
        <source>Dismissed</source>
        <translation>已驳回</translation>
    </message>
    <message>
        <source>Actioned</source>
        <translation>已处理</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>刷新(&amp;F)</translation>
    </message>
    <message>
        <source>Reports and the transcript of the reported chat</source>
        <translation>举报及被举报聊天的记录</translation>
    </message>
    <message>
        <source>&amp;Dismiss</source>
        <translation>驳回(&amp;D)</translation>
    </message>
    <message>
        <source>Ban for 1 &amp;hour</source>
        <translation>封禁 1 小时(&amp;H)</translation>
    </message>
    <message>
        <source>Ban for 1 d&amp;ay</source>
        <translation>封禁 1 天(&amp;A)</translation>
    </message>
    <message>
        <source>Ban for 7 da&amp;ys</source>
        <translation>封禁 7 天(&amp;Y)</translation>
    </message>
    <message>
        <source>Bans in force</source>
        <translation>生效中的封禁</translation>
    </message>
    <message>
        <source>&amp;Lift ban</source>
        <translation>解除封禁(&amp;L)</translation>
    </message>
    <message>
        <source>Select a report to read its chat.</source>
        <translation>选择一条举报以查看其聊天记录。</translation>
    </message>
    <message>
        <source>1 message</source>
        <translation>1 条消息</translation>
    </message>
    <message>
        <source>%1 messages</source>
        <translation>%1 条消息</translation>
    </message>
    <message>
        <source>#%1 · %2 · %3 · %4</source>
        <translation>#%1 · %2 · %3 · %4</translation>
    </message>
    <message>
        <source>no reason given</source>
        <translation>未说明原因</translation>
    </message>
    <message>
        <source>report #%1</source>
        <translation>举报 #%1</translation>
    </message>
    <message>
        <source>automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Until %1 (%2)</source>
        <translation>至 %1（%2）</translation>
    </message>
    <message>
        <source>Reported user</source>
        <translation>被举报者</translation>
    </message>
    <message>
        <source>Reporter</source>
        <translation>举报者</translation>
    </message>
    <message>
        <source>(The chat had no messages.)</source>
        <translation>（该聊天没有消息。）</translation>
    </message>
</context>
<context>
    <name>anonchat::client::ServerBackend</name>
    <message>
        <source>&apos;%1&apos; is not a server address (use http://, https://, ws://…/ws or wss://…/ws)</source>
        <translation>“%1”不是服务器地址（请使用 http://、https://、ws://…/ws 或 wss://…/ws）</translation>
    </message>
    <message>
        <source>Could not start the local server: %1</source>
        <translation>无法启动本机服务器：%1</translation>
    </message>
</context>
<context>
    <name>anonchat::client::SettingsDialog</name>
    <message>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Where to chat</source>
        <translation>在哪里聊天</translation>
    </message>
    <message>
        <source>&amp;Host a server on this computer</source>
        <translation>在本机运行服务器(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Connect to a server</source>
        <translation>连接到服务器(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Port:</source>
        <translation>端口(&amp;P)：</translation>
    </message>
    <message>
        <source>If this port is taken, the next free one is used.</source>
        <translation>如果该端口已被占用，会自动使用下一个空闲端口。</translation>
    </message>
    <message>
        <source>&amp;Share on my network</source>
        <translation>在我的局域网中共享(&amp;S)</translation>
    </message>
    <message>
        <source>Listens on all addresses: people on the same network can join from their browser at this address.</source>
        <translation>监听所有地址：同一网络中的人可以用浏览器打开这个地址加入。</translation>
    </message>
    <message>
        <source>Copy the address to the clipboard</source>
        <translation>把地址复制到剪贴板</translation>
    </message>
    <message>
        <source>Server &amp;URL:</source>
        <translation>服务器地址(&amp;U)：</translation>
    </message>
    <message>
        <source>https://chat.example.org/</source>
        <translation>https://chat.example.org/</translation>
    </message>
    <message>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
    <message>
        <source>System</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>&amp;Theme:</source>
        <translation>主题(&amp;T)：</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <source>Ask before leaving a chat that has messages</source>
        <translation>离开有消息的聊天前先确认</translation>
    </message>
    <message>
        <source>No network connection found</source>
        <translation>未找到网络连接</translation>
    </message>
    <message>
        <source>The address is shown once it runs</source>
        <translation>服务器运行后会显示地址</translation>
    </message>
    <message>
        <source>Use http://, https://, ws://…/ws or wss://…/ws.</source>
        <translation>请使用 http://、https://、ws://…/ws 或 wss://…/ws。</translation>
    </message>
</context>
<context>
    <name>anonchat::server::ChatNode</name>
    <message>
        <source>the server is full, try again later</source>
        <translation>服务器已满，请稍后再试</translation>
    </message>
    <message>
        <source>server shutting down</source>
        <translation>服务器正在关闭</translation>
    </message>
    <message>
        <source>server busy</source>
        <translation>服务器繁忙</translation>
    </message>
    <message>
        <source>frame not finished in time</source>
        <translation>数据帧未在规定时间内发送完毕</translation>
    </message>
    <message>
        <source>a resume is under way; wait for its answer</source>
        <translation>正在恢复会话，请等待结果</translation>
    </message>
    <message>
        <source>too many invalid frames</source>
        <translation>无效帧过多</translation>
    </message>
    <message>
        <source>slow down</source>
        <translation>请慢一点</translation>
    </message>
    <message>
        <source>rate limit exceeded</source>
        <translation>超出速率限制</translation>
    </message>
    <message>
        <source>resume must be the first event</source>
        <translation>resume 必须是第一个事件</translation>
    </message>
    <message>
        <source>binary frames are not supported; send JSON text</source>
        <translation>不支持二进制帧，请发送 JSON 文本</translation>
    </message>
    <message>
        <source>already in a room: use next</source>
        <translation>已在聊天室中：请使用 next</translation>
    </message>
    <message>
        <source>not in the queue</source>
        <translation>不在匹配队列中</translation>
    </message>
    <message>
        <source>not in a room</source>
        <translation>不在聊天室中</translation>
    </message>
    <message>
        <source>unknown, expired or already used token</source>
        <translation>令牌未知、已过期或已被使用</translation>
    </message>
    <message>
        <source>resumed elsewhere</source>
        <translation>已在别处恢复</translation>
    </message>
</context>
<context>
    <name>anonchat::server::ChatServer</name>
    <message>
        <source>--tls-cert: TLS is not available (no OpenSSL 3 library found)</source>
        <translation>--tls-cert：TLS 不可用（未找到 OpenSSL 3 库）</translation>
    </message>
    <message>
        <source>cannot listen on %1 port %2: %3</source>
        <translation>无法在 %1 的 %2 端口上监听：%3</translation>
    </message>
</context>
<context>
    <name>anonchat::server::ClientSocket</name>
    <message>
        <source>not reading</source>
        <translation>客户端未读取数据</translation>
    </message>
</context>
<context>
    <name>anonchat::server::ClusterCoordinator</name>
    <message>
        <source>the matching queue is unavailable, try again</source>
        <translation>匹配队列暂时不可用，请重试</translation>
    </message>
    <message>
        <source>resumed elsewhere</source>
        <translation>已在别处恢复</translation>
    </message>
    <message>
        <source>unknown, expired or already used token</source>
        <translation>令牌未知、已过期或已被使用</translation>
    </message>
    <message>
        <source>the cluster is unavailable, try again</source>
        <translation>服务器集群暂时不可用，请重试</translation>
    </message>
</context>
<context>
    <name>anonchat::server::RedisLink</name>
    <message>
        <source>--redis %1: cannot connect</source>
        <translation>--redis %1：无法连接</translation>
    </message>
    <message>
        <source>--redis %1: no answer</source>
        <translation>--redis %1：没有响应</translation>
    </message>
</context>
<context>
    <name>anonchat::server::RoomService</name>
    <message>
        <source>the room could not be stored</source>
        <translation>聊天室无法保存</translation>
    </message>
    <message>
        <source>the database is unavailable, try again</source>
        <translation>数据库暂时不可用，请重试</translation>
    </message>
    <message>
        <source>the message could not be stored; it was not sent</source>
        <translation>消息无法保存，未发送</translation>
    </message>
    <message>
        <source>the report could not be stored</source>
        <translation>举报无法保存</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>anonchat: talk to a stranger. The headless server.</source>
        <translation>anonchat：和陌生人聊天。无界面服务器。</translation>
    </message>
    <message>
        <source>unexpected argument &apos;%1&apos;</source>
        <translation>多余的参数“%1”</translation>
    </message>
</context>
</TS>
