//! Every user-facing string, one table per language. Handlers pick by key; templates take
//! named `{placeholders}` filled by [`fill`].

use domain::config::Lang;
use domain::{Role, Roles};

/// Declares the keys and `K::ALL`, so tests can walk every key of every table.
macro_rules! keys {
    ($($k:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum K { $($k),* }
        impl K {
            pub const ALL: &[K] = &[$(K::$k),*];
        }
    };
}

keys! {
    StatsToday,
    StatsMonth,
    CmdStats,
    StatsRefused,
    StatsUsage,
    StatsNotBegun,
    StatsTitle,
    StatsTitlePast,
    StatsNoCadres,
    ColDistrict,
    ColActive,
    ColLoggedToday,
    ColMissingToday,
    ColLogDays,
    ColSubsidyDays,
    ColLeaveDays,
    ColPending,
    ColOpen,
    ColUpdate,
    StatsLegend,
    StatsLegendPast,
    StatsUnitsWithout,
    StatsAllUpdatesIn,
    StatsMoreUnits,
    Yes,
    No,
    NoDuty,
    SubsidyReportCaption,
    SubsidyFigures,
    WeeklyTitle,
    WeeklyDuty,
    WeeklyNoDuty,
    WeeklyLogs,
    ColUnit,
    ColUpdates,
    ColMet,
    WeeklyChartTitle,
    WeeklyChartMissingGlyphs,
    WeeklyChartFailed,
    CalendarMissing,
    WebAppButton,
    WeeklyChartY,
    WeekdayNames,
    AskContact,
    ShareContactButton,
    NotOwnContact,
    NotOnRoster,
    Deactivated,
    PersonTaken,
    AccountTaken,
    InviteUnknown,
    InviteUsed,
    InviteExpired,
    Welcome,
    AlreadyRegistered,
    DbUnavailable,
    Delayed,
    UnknownCommand,
    HelpHeader,
    HelpFooter,
    LangUsage,
    LangSet,
    Unsupported,
    CmdStart,
    CmdHelp,
    CmdLang,
    CmdWeb,
    WebNotConfigured,
    WebLink,
    CmdLog,
    CmdMe,
    NotCadre,
    LogReceipt,
    LogReceiptFiles,
    LogTooLong,
    LogFileTooLarge,
    LogEmpty,
    LogEdited,
    BackdateUsage,
    BackdateBadDate,
    BackdateFuture,
    BackdateTooOld,
    BackdateNeedsText,
    MeSummary,
    CmdLeave,
    CmdLeaves,
    CmdPending,
    CmdCancel,
    LeaveNotCadre,
    LeaveAskStart,
    LeaveAskEnd,
    LeaveAskReason,
    LeaveUsage,
    LeaveBadDate,
    LeaveMissingReason,
    LeaveEndBeforeStart,
    LeaveStartInPast,
    LeaveTooLong,
    LeaveOverlaps,
    LeaveNoApprover,
    LeaveSubmitted,
    LeaveCard,
    LeaveCardAsk,
    LeaveCardApproved,
    LeaveCardRejected,
    LeaveCardCancelled,
    LeaveCardEscalated,
    LeaveForwarded,
    LeaveApproved,
    LeaveRejected,
    LeaveListEmpty,
    LeaveListHeader,
    LeaveListItem,
    LeaveCancelButton,
    LeaveCancelled,
    LeaveNotPending,
    ApproveButton,
    RejectButton,
    AlertApproved,
    AlertForwarded,
    AlertRejected,
    AlertNotYours,
    AlertAlreadyDecided,
    AlertNotFound,
    AlertStaleButton,
    AlertRegisterFirst,
    AskRejectReason,
    RejectReasonEmpty,
    RejectDone,
    PendingEmpty,
    PendingHeader,
    NothingToCancel,
    DialogueCancelled,
    StatusPending,
    StatusApproved,
    StatusRejected,
    StatusCancelled,
    LevelTownship,
    LevelCounty,
    LevelCity,
    LevelVillage,
    RoleCadre,
    RoleApprover,
    RoleTutor,
    RoleReporter,
    RoleAdmin,
    CmdAsk,
    CmdQuestions,
    AskNotCadre,
    AskPrompt,
    AskNeedsText,
    AskTooLong,
    AskChooseTopic,
    AskSubmitted,
    AskSubmittedAdmin,
    AskNoTutor,
    AskSimilarHeader,
    AskSimilarItem,
    AskAlreadySubmitted,
    QuestionCard,
    CardAttachment,
    CardHistory,
    CardViaDefault,
    CardViaAdmin,
    CardPassedBy,
    CardReassigned,
    CardAsk,
    CardAnswered,
    CardPassedAway,
    CardReassignedAway,
    PassButton,
    QuestionReminder,
    QuestionOverdue,
    QuestionPassedNote,
    QuestionReassignedNote,
    QuestionRatedHelpful,
    QuestionRatedUnhelpful,
    RateHelpful,
    RateUnhelpful,
    RateChosen,
    RateThanks,
    PassMenu,
    PassNothing,
    PassTopicButton,
    PassTutorButton,
    PassDone,
    RelayDone,
    RelayFailed,
    ReplyUnknown,
    ReplyNotAssigned,
    ReplyNotSubmitted,
    AlertQuestionNotYours,
    AlertNotAnswered,
    AlertNotAssigned,
    AlertSameTutor,
    AlertNotATutor,
    QuestionsEmpty,
    QuestionsHeader,
    QuestionsItem,
    QuestionsTutorHeader,
    QuestionsTutorItem,
    QuestionsTutorEmpty,
    QStatusDraft,
    QStatusOpen,
    QStatusAnswered,
    KindPhoto,
    KindVoice,
    KindVideo,
    KindDocument,
    KindOther,
    CancelWords,
    // scheduler
    CmdRemind,
    RemindUsage,
    RemindOn,
    RemindOff,
    LogReminder,
    DigestHeader,
    DigestItem,
    DigestApprove,
    DigestReject,
    // work updates and sharing
    BulletinHeader,
    CmdUpdate,
    CmdFeed,
    CmdShare,
    UpdateNotReporter,
    UpdatePrompt,
    UpdateRecorded,
    UpdateChooseUnit,
    UpdateUnitChosen,
    UpdateNotYourUnit,
    UpdateTooLong,
    UpdateUnsupported,
    UpdateEdited,
    UpdateNudge,
    FeedHeader,
    FeedHeaderUnit,
    FeedItem,
    FeedPhotos,
    FeedEmpty,
    FeedUnknownUnit,
    FeedMore,
    FeedNoMore,
    ShareNotSetUp,
    ShareNoReceipt,
    ShareNotYours,
    ShareAlready,
    ShareDone,
    SharedHeader,
    ShareDigest,
    ShareDigestComment,
    ChannelRefused,
    ChannelBulletin,
    ChannelSharing,
    ChannelRemoved,
    AlertChoiceExpired,
    // policy library
    CmdPolicy,
    CmdPolicyAdd,
    CmdPolicyDel,
    PolicyNotAdmin,
    RosterNotAdmin,
    RosterNoFile,
    RosterTooLarge,
    RosterUnreadable,
    RosterInvalid,
    RosterMoreErrors,
    RosterPreview,
    RosterPreviewHint,
    RosterCounts,
    RosterAddedNames,
    RosterUpdatedNames,
    RosterDeactivatedNames,
    RosterMoreNames,
    RosterConfirmButton,
    RosterConfirmAgainButton,
    RosterCancelButton,
    RosterConfirmAgain,
    RosterImported,
    RosterCancelled,
    RosterUploadGone,
    RosterUploadDone,
    RosterUploadExpired,
    PolicyAddPrompt,
    PolicyAddNeedsFile,
    PolicyNoTitle,
    PolicyBadDate,
    PolicyTitleTooLong,
    PolicyNoFile,
    PolicyTooLarge,
    PolicyUnsupported,
    PolicyEncrypted,
    PolicyMalformed,
    PolicyDownloadFailed,
    PolicyAdded,
    PolicyAddedScan,
    PolicyResultsHeader,
    PolicyItem,
    PolicyNewestHeader,
    PolicyListItem,
    PolicyLibraryEmpty,
    PolicyNoMatch,
    PolicyFileButton,
    PolicyNoIssuer,
    PolicyDelUsage,
    PolicyDeleted,
    PolicyNotFound,
    AlertPolicyGone,
    AskSimilarHeaderMixed,
    AskSimilarPolicy,
}

pub fn tr(lang: Lang, k: K) -> &'static str {
    match lang {
        Lang::Zh => zh(k),
        Lang::En => en(k),
    }
}

/// Fills `{name}` placeholders of a template in one pass: what is inserted is never
/// scanned again (a reason that contains `{chain}` stays as the person wrote it). A
/// placeholder without a value stays as written, and is a bug of the caller.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                debug_assert!(
                    !after.split('}').next().is_some_and(is_placeholder_name),
                    "no value for a placeholder of {template:?}"
                );
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_placeholder_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// The placeholder names of a template, sorted (for the zh/en consistency check).
#[cfg(test)]
fn placeholders(template: &str) -> Vec<&str> {
    let mut names: Vec<&str> = template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|name| is_placeholder_name(name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether a dialogue answer means "stop": the words of both languages, so a person who
/// switched language is still understood. `/cancel` is a command and handled as one.
pub fn is_cancel_word(text: &str) -> bool {
    let text = text.trim();
    [Lang::Zh, Lang::En]
        .iter()
        .flat_map(|&lang| tr(lang, K::CancelWords).split('|'))
        .any(|w| w.eq_ignore_ascii_case(text))
}

pub fn role_name(lang: Lang, role: Role) -> &'static str {
    tr(
        lang,
        match role {
            Role::Cadre => K::RoleCadre,
            Role::Approver => K::RoleApprover,
            Role::Tutor => K::RoleTutor,
            Role::Reporter => K::RoleReporter,
            Role::Admin => K::RoleAdmin,
        },
    )
}

pub fn level_name(lang: Lang, level: domain::Level) -> &'static str {
    use domain::Level;
    tr(
        lang,
        match level {
            Level::City => K::LevelCity,
            Level::County => K::LevelCounty,
            Level::Township => K::LevelTownship,
            Level::Village => K::LevelVillage,
        },
    )
}

pub fn role_names(lang: Lang, roles: Roles) -> String {
    let names: Vec<&str> = roles.iter().map(|r| role_name(lang, r)).collect();
    names.join(if lang == Lang::Zh { "、" } else { ", " })
}

fn zh(k: K) -> &'static str {
    match k {
        K::AskContact => {
            "您好！这是驻村工作助手。请点击下方“分享我的手机号”按钮完成注册；如果管理员给了您邀请链接，也可以直接打开那个链接。"
        }
        K::ShareContactButton => "📱 分享我的手机号",
        K::NotOwnContact => {
            "只能分享您本人的手机号。请点击下方“分享我的手机号”按钮，不要转发他人的名片。"
        }
        K::NotOnRoster => {
            "手机号 {phone} 不在驻村干部名册中，无法注册。请联系组织部门的管理员核实名册。"
        }
        K::Deactivated => "您的账号已停用，不能继续使用。如有疑问请联系组织部门的管理员。",
        K::PersonTaken => "该名册人员已绑定其他 Telegram 账号。如需更换账号，请联系管理员。",
        K::AccountTaken => "您的 Telegram 账号已绑定名册中的其他人员。如有错误，请联系管理员。",
        K::InviteUnknown => "邀请码无效。请核对链接，或点击下方按钮分享手机号完成注册。",
        K::InviteUsed => {
            "该邀请码已被使用过，每个邀请码只能用一次。请点击下方按钮分享手机号，或向管理员索取新的邀请链接。"
        }
        K::InviteExpired => {
            "该邀请码已过期。请点击下方按钮分享手机号，或向管理员索取新的邀请链接。"
        }
        K::Welcome => {
            "注册成功！{name}，欢迎使用驻村工作助手。\n单位：{unit}\n身份：{roles}\n\n发送 /help 查看可用的命令。"
        }
        K::AlreadyRegistered => "您已经注册过了（{name}）。发送 /help 查看可用的命令。",
        K::DbUnavailable => "系统暂时无法保存，您刚才的消息没有被记录，请稍后重新发送。",
        K::Delayed => "⏳ 系统暂时繁忙，您的消息已收到，恢复后会自动处理，无需重新发送。",
        K::UnknownCommand => "没有这个命令。",
        K::HelpHeader => "可用的命令：",
        K::HelpFooter => "切换语言：/lang zh 或 /lang en",
        K::LangUsage => "用法：/lang zh（中文）或 /lang en（English）",
        K::LangSet => "已切换为中文。",
        K::Unsupported => "暂不支持这种消息。发送 /help 查看可用的命令。",
        K::CmdStart => "开始 / 注册",
        K::CmdHelp => "查看帮助",
        K::CmdLang => "切换语言（zh / en）",
        K::CmdWeb => "在电脑浏览器打开数据看板",
        K::WebNotConfigured => "网页版尚未开通（需要管理员设置 web.public_url）。",
        K::WebLink => {
            "在电脑浏览器打开下面的链接即可查看数据看板（{minutes} 分钟内有效，只能打开一次，请勿转发）：\n{link}"
        }
        K::CmdLog => "补记前几天的工作：/log 2026-11-23 内容",
        K::CmdMe => "查看本月记实天数和补助天数",
        K::NotCadre => "只有驻村干部可以提交工作记实。",
        K::LogReceipt => {
            "✅ 已记录第 {seq} 条工作记实\n日期：{date}\n{month}月已有 {days} 天有记实。"
        }
        K::LogReceiptFiles => "附件：{files} 个",
        K::LogTooLong => {
            "这条记实有 {chars} 个字，超过了 {max} 字的上限，没有记录。请分成几条发送。"
        }
        K::LogFileTooLarge => {
            "文件太大（{size} MB），上限是 {max} MB，没有记录。请压缩后再发，或改用文字说明。"
        }
        K::LogEmpty => "这条消息没有内容，没有记录。",
        K::LogEdited => "✏️ 已更新第 {seq} 条工作记实（{date}），修改前的内容已留档。",
        K::BackdateUsage => "补记的用法：/log 日期 内容，例如：/log 2026-11-23 入户走访三户",
        K::BackdateBadDate => {
            "日期“{input}”看不懂。请写成 年-月-日，例如：/log 2026-11-23 入户走访三户"
        }
        K::BackdateFuture => "{date} 还没到，不能提前记录。",
        K::BackdateTooOld => {
            "只能补记最近 {window} 天的工作（{earliest} 及以后），{date} 已超出补记期限。"
        }
        K::BackdateNeedsText => "请在日期后面写上当天的工作内容，例如：/log {date} 入户走访三户",
        K::StatsToday => "今日：",
        K::StatsMonth => "本月合计：",
        K::CmdStats => "数据督导：各区县记实、请假、答疑和工作动态（管理员、审批人）",
        K::StatsRefused => "只有管理员和审批人可以查看统计（审批人看本单位及下级）。",
        K::StatsUsage => "用法：/stats 查看本月，/stats 2026-11 查看已过去的月份。",
        K::StatsNotBegun => "{month} 还没有开始，请选择本月或以前的月份，例如 /stats {example}。",
        K::StatsTitle => "{scope} · {month}（截至 {today}）",
        K::StatsTitlePast => "{scope} · {month}",
        K::StatsNoCadres => "{scope}没有驻村干部。",
        K::ColDistrict => "区县",
        K::ColActive => "在岗",
        K::ColLoggedToday => "今记",
        K::ColMissingToday => "今缺",
        K::ColLogDays => "记实",
        K::ColSubsidyDays => "补助",
        K::ColLeaveDays => "请假",
        K::ColPending => "待批",
        K::ColOpen => "待答",
        K::ColUpdate => "动态",
        K::StatsLegend => {
            "在岗：在册驻村干部；今记：今日有记实；今缺：今日应记未记（不含请假和休息日）；记实、补助：本月记实天数、补助天数合计；待批：待审批的请假；待答：待答复的问题；动态：本周工作动态是否已报。"
        }
        K::StatsLegendPast => {
            "在岗：现仍在册的驻村干部；记实、请假、补助：该月天数合计（与补助统计表一致）。"
        }
        K::StatsUnitsWithout => "本周尚未报送工作动态的单位（{n} 个）：\n{units}",
        K::StatsAllUpdatesIn => "本周应报送工作动态的单位都已报送。",
        K::StatsMoreUnits => "……另有 {n} 个",
        K::Yes => "是",
        K::No => "否",
        K::NoDuty => "—",
        K::SubsidyReportCaption => {
            "{month}驻村补助统计表：{n} 名驻村干部。汇总表和各区县表列出记实天数、请假天数、补助天数；出勤明细中 记=计入补助，假=请假，休=休息日。"
        }
        K::SubsidyFigures => {
            "{name}，{month}的驻村补助核定：\n有记实的天数：{log_days} 天\n已批准的请假天数：{leave_days} 天\n计入驻村补助的天数：{eligible_days} 天\n\n如有出入，请联系所在单位的审批人。"
        }
        K::WeeklyTitle => "上周（{week}，{from} 至 {to}）工作动态与记实情况",
        K::WeeklyDuty => "工作动态（每周至少一条）：",
        K::WeeklyNoDuty => "没有需要报送工作动态的单位。",
        K::WeeklyLogs => "各区县每日有记实的干部人数：",
        K::ColUnit => "单位",
        K::ColUpdates => "条数",
        K::ColMet => "达标",
        K::WeeklyChartTitle => "上周各区县每日记实人数（{week}）",
        K::WeeklyChartMissingGlyphs => "图中字体缺少“{chars}”，以 □ 代替。",
        K::WebAppButton => "打开数据看板",
        K::CalendarMissing => {
            "{year} 年的法定节假日安排尚未导入。导入前，{year} 年只按周六、周日休息：节假日当天仍会提醒记实，调休上班的周末不会提醒，出勤记录也按此计算。国务院公布安排后，请在服务器上运行 zhucun calendar import 文件（holiday-cn 的 JSON 或 TOML）。"
        }
        K::WeeklyChartFailed => "上周（{week}）的图表未能生成：{error}。数字见上面的汇总表。",
        K::WeeklyChartY => "有记实的干部人数",
        K::WeekdayNames => "一,二,三,四,五,六,日",
        K::MeSummary => {
            "{name}，{month}的记实情况：\n有记实的天数：{log_days} 天\n已批准的请假天数：{leave_days} 天\n计入驻村补助的天数：{eligible_days} 天\n\n（有记实且不在请假期间的日子计入补助。）"
        }
        K::RoleCadre => "驻村干部",
        K::CmdLeave => "请假：/leave 开始日期 结束日期 事由，或只发 /leave 按提示填写",
        K::CmdLeaves => "查看我的请假申请（可撤销待审批的）",
        K::CmdPending => "查看待我审批的请假申请",
        K::CmdCancel => "取消正在填写的内容",
        K::LeaveNotCadre => "只有驻村干部可以通过机器人请假。",
        K::LeaveAskStart => {
            "请假从哪天开始？请回复日期，例如：12-01、12月1日、明天。（发送 /cancel 可取消）"
        }
        K::LeaveAskEnd => "开始日期：{start}。请假到哪天结束（含这一天）？例如：12-03",
        K::LeaveAskReason => "{start} 至 {end}，共 {days} 天。请写明请假事由：",
        K::LeaveUsage => {
            "请假的用法：/leave 开始日期 结束日期 事由，例如：/leave 12-01 12-03 回家照顾生病的父亲；也可以只发 /leave 按提示填写。"
        }
        K::LeaveBadDate => {
            "日期“{input}”看不懂。可以写成 2026-12-01、12-01、12月1日、今天 或 明天。"
        }
        K::LeaveMissingReason => "没有提交：请写明请假事由。",
        K::LeaveEndBeforeStart => "没有提交：结束日期 {end} 早于开始日期 {start}。",
        K::LeaveStartInPast => "没有提交：开始日期 {start} 已经过去，不能补请假。",
        K::LeaveTooLong => "没有提交：请假 {days} 天，超过了一次最多 {max} 天的规定。",
        K::LeaveOverlaps => "没有提交：与您已有的请假（{start} 至 {end}）时间重叠。",
        K::LeaveNoApprover => {
            "没有提交：您所在单位及上级都没有登记审批人，请联系组织部门的管理员。"
        }
        K::LeaveSubmitted => {
            "已提交请假申请 #{id}：{start} 至 {end}，共 {days} 天。\n审批流程：{chain}\n审批结果会通知您；发送 /leaves 可查看或撤销。"
        }
        K::LeaveCard => {
            "📝 请假申请 #{id}\n申请人：{name}（{unit}）\n日期：{start} 至 {end}，共 {days} 天\n事由：{reason}\n审批流程：{chain}"
        }
        K::LeaveCardAsk => "请您审批（{level}）：",
        K::LeaveCardApproved => "✅ 已由 {by} 批准",
        K::LeaveCardRejected => "❌ 已由 {by} 驳回",
        K::LeaveCardCancelled => "已由申请人撤销",
        K::LeaveCardEscalated => "（{levels}无审批人，已转上一级）",
        K::LeaveForwarded => {
            "您的请假申请 #{id}（{start} 至 {end}）已通过{done}审批，现转{next}审批。"
        }
        K::LeaveApproved => "✅ 您的请假申请 #{id}（{start} 至 {end}，共 {days} 天）已批准。",
        K::LeaveRejected => {
            "❌ 您的请假申请 #{id}（{start} 至 {end}）被驳回。\n理由：{reason}\n如有疑问请联系审批人。"
        }
        K::LeaveListEmpty => "您还没有请假申请。发送 /leave 申请请假。",
        K::LeaveListHeader => "您最近的请假申请：",
        K::LeaveListItem => "#{id} {start} 至 {end}（{days} 天）{status}",
        K::LeaveCancelButton => "撤销 #{id}",
        K::LeaveCancelled => "请假申请 #{id} 已撤销，审批人那里也已更新。",
        K::LeaveNotPending => "请假申请 #{id} 已经不是待审批状态，不能撤销。",
        K::ApproveButton => "批准",
        K::RejectButton => "驳回",
        K::AlertApproved => "已批准。",
        K::AlertForwarded => "已批准，已转上一级审批。",
        K::AlertRejected => "已驳回。",
        K::AlertNotYours => "您无权处理这条申请。",
        K::AlertAlreadyDecided => "这条申请已经处理过了（{by}）。",
        K::AlertNotFound => "找不到这条申请。",
        K::AlertStaleButton => "这个按钮已失效。",
        K::AlertRegisterFirst => "请先在私聊中注册。",
        K::AskRejectReason => "请回复驳回请假申请 #{id} 的理由（申请人会看到）：",
        K::RejectReasonEmpty => "请写明驳回理由（发送 /cancel 可取消）。",
        K::RejectDone => "已驳回请假申请 #{id}，理由已转告申请人。",
        K::PendingEmpty => "目前没有待您审批的请假申请。",
        K::PendingHeader => "待您审批的请假申请共 {count} 条：",
        K::NothingToCancel => "当前没有正在填写的内容。",
        K::DialogueCancelled => "已取消。",
        K::StatusPending => "待审批",
        K::StatusApproved => "已批准",
        K::StatusRejected => "已驳回",
        K::StatusCancelled => "已撤销",
        K::LevelTownship => "乡镇",
        K::LevelCounty => "区县",
        K::LevelCity => "市",
        K::LevelVillage => "村",
        K::RoleApprover => "审批人",
        K::RoleTutor => "辅导员",
        K::RoleReporter => "动态报送员",
        K::RoleAdmin => "管理员",
        K::CmdAsk => "提问：/ask 问题内容（也可发带文字说明的图片），或只发 /ask 按提示填写",
        K::CmdQuestions => "查看我的问题；辅导员：查看待我解答的问题",
        K::AskNotCadre => "只有驻村干部可以通过机器人提问。",
        K::AskPrompt => "请发送您的问题：文字，或带文字说明的图片。（发送 /cancel 可取消）",
        K::AskNeedsText => {
            "请用文字写明问题；发图片时请把问题写在图片说明里。（发送 /cancel 可取消）"
        }
        K::AskTooLong => "问题有 {chars} 个字，超过了 {max} 字的上限，没有提交。请精简后再发。",
        K::AskChooseTopic => "请选择问题的类别，问题会转给这一类别的辅导员：",
        K::AskSubmitted => {
            "✅ 已提交问题 #{id}（{topic}），已转给辅导员 {tutor}（{unit}）。\n回答会以“回复”您这条问题的形式发给您；您可以“回复”回答继续追问。"
        }
        K::AskSubmittedAdmin => {
            "✅ 已提交问题 #{id}（{topic}）。这一类别暂无辅导员，已转给管理员 {tutor}，由其解答或转交合适的辅导员。\n回答会以“回复”您这条问题的形式发给您。"
        }
        K::AskNoTutor => {
            "暂时没有可以解答的辅导员，问题没有提交。请稍后再选一次类别，或联系组织部门的管理员。"
        }
        K::AskSimilarHeader => "以前有人问过类似的问题，供参考：",
        K::AskSimilarItem => "{n}. {question}\n   答：{answer}",
        K::AskAlreadySubmitted => "这个问题已经提交过了。",
        K::QuestionCard => {
            "❓ 问题 #{id}（{topic}）\n提问人：{name}（{unit}）\n时间：{time}\n\n{text}"
        }
        K::CardAttachment => "{kind} 附件见下一条消息",
        K::CardHistory => "此前的对话：",
        K::CardViaDefault => "（这一类别暂无辅导员，按设置转给您）",
        K::CardViaAdmin => {
            "（这一类别暂无辅导员，转给管理员：请直接解答，或点“转交”交给合适的辅导员）"
        }
        K::CardPassedBy => "（由 {by} 转交给您）",
        K::CardReassigned => "（原辅导员超过 {hours} 小时未答复，改派给您）",
        K::CardAsk => "请直接“回复”这条消息作答（文字、图片、语音、文件均可），回答会转给提问人。",
        K::CardAnswered => "✅ 已回答。提问人的追问会转到这里；“回复”追问即可继续。",
        K::CardPassedAway => "➡️ 已转交给 {to}。",
        K::CardReassignedAway => "➡️ 超过时限未答复，已改派给 {to}。",
        K::PassButton => "转交",
        K::QuestionReminder => {
            "⏰ 问题 #{id}（{topic}）已等待 {hours} 小时，提问人还在等您的答复：\n\n{text}\n\n请“回复”这条消息作答；如不属于您的范围，可在问题卡片上点“转交”。"
        }
        K::QuestionOverdue => {
            "⏰ 问题 #{id}（{topic}）已等待 {hours} 小时仍未答复，且没有其他辅导员可以改派。请尽快“回复”这条消息作答：\n\n{text}"
        }
        K::QuestionPassedNote => "您的问题 #{id}（{topic}）已转交给辅导员 {tutor} 解答。",
        K::QuestionReassignedNote => {
            "您的问题 #{id}（{topic}）等待较久，已改由辅导员 {tutor} 解答。"
        }
        K::QuestionRatedHelpful => "👍 {name} 认为您对问题 #{id} 的回答有帮助。",
        K::QuestionRatedUnhelpful => {
            "{name} 认为您对问题 #{id} 的回答没有帮助。可以“回复”问题卡片补充说明。"
        }
        K::RateHelpful => "👍 有帮助",
        K::RateUnhelpful => "👎 没帮助",
        K::RateChosen => "✅ {label}",
        K::RateThanks => "谢谢您的评价！",
        K::PassMenu => {
            "把问题 #{id} 转交给谁？选一个类别（由系统找这一类别的辅导员），或直接选一位辅导员："
        }
        K::PassNothing => "没有可以转交的类别或辅导员。",
        K::PassTopicButton => "类别：{topic}",
        K::PassTutorButton => "👤 {name}（{unit}）",
        K::PassDone => "已把问题 #{id} 转交给 {tutor}（{topic}），提问人也已收到通知。",
        K::RelayDone => "✅ 已转给 {name}。",
        K::RelayFailed => "没有送达 {name}，请稍后再发一次。",
        K::ReplyUnknown => {
            "您回复（引用）的消息不属于任何问题的对话，所以这条消息没有转给任何人，也没有记为工作记实。\n· 提问：/ask 问题内容\n· 回答或追问：请“回复”问题卡片或转来的消息\n· 记工作记实：直接发送，不要引用其他消息"
        }
        K::ReplyNotAssigned => "这个问题现在由 {tutor} 负责，您的消息没有转发。",
        K::ReplyNotSubmitted => "这个问题还没有选择类别，请先点上面的类别按钮。",
        K::AlertQuestionNotYours => "这不是您的问题。",
        K::AlertNotAnswered => "问题还没有回答，暂时不能评价。",
        K::AlertNotAssigned => "这个问题现在由 {tutor} 负责，您不能处理。",
        K::AlertSameTutor => "问题已经在这位辅导员那里了。",
        K::AlertNotATutor => "对方不是在岗的辅导员。",
        K::QuestionsEmpty => "您还没有提过问题。发送 /ask 提问。",
        K::QuestionsHeader => "您最近的问题：",
        K::QuestionsItem => "#{id} {topic} · {status} · {text}",
        K::QuestionsTutorHeader => "待您解答的问题（“回复”问题卡片即可作答）：",
        K::QuestionsTutorItem => "#{id} {topic} · {name} · 已等 {hours} 小时 · {text}",
        K::QuestionsTutorEmpty => "目前没有待您解答的问题。",
        K::QStatusDraft => "未选类别",
        K::QStatusOpen => "待解答",
        K::QStatusAnswered => "已回答",
        K::KindPhoto => "[图片]",
        K::KindVoice => "[语音]",
        K::KindVideo => "[视频]",
        K::KindDocument => "[文件]",
        K::KindOther => "[附件]",
        K::CancelWords => "取消",
        K::CmdRemind => "每日记实提醒：/remind off 关闭，/remind on 开启",
        K::RemindUsage => "发送 /remind off 关闭每晚的记实提醒，/remind on 重新开启。",
        K::RemindOn => "已开启：当天还没有记实时，每晚会提醒您一次。",
        K::RemindOff => "已关闭每晚的记实提醒。需要时发送 /remind on 重新开启。",
        K::DigestHeader => "有 {count} 份请假申请等待您审批已超过提醒时间（最早的在前）：",
        K::DigestItem => "#{id} {name}：{start} 至 {end}，{days} 天。事由：{reason}",
        K::DigestApprove => "批准 #{id}",
        K::DigestReject => "驳回 #{id}",
        K::LogReminder => {
            "您好，今天（{date}）还没有收到您的工作记实。有空时发一条文字或照片即可。\n{month}已有 {days} 天有记实。\n（不需要提醒请发送 /remind off）"
        }
        K::BulletinHeader => "【{unit}】驻村动态 · {date}",
        K::CmdUpdate => "发布本单位的工作动态（动态报送员）：/update 内容，或带 /update 说明的照片",
        K::CmdFeed => "最新工作动态；/feed 单位名 只看该单位",
        K::CmdShare => "回复自己某条记实的回执发送 /share，分享到交流群",
        K::UpdateNotReporter => {
            "只有动态报送员可以发布工作动态：各区（市、县）党委组织部或市直单位在花名册中登记为“reporter（动态报送员）”的人员。如需开通请联系管理员。"
        }
        K::UpdatePrompt => {
            "请发送这条工作动态的内容：文字，或带说明文字的照片（可多张）。发送 /cancel 取消。"
        }
        K::UpdateRecorded => {
            "已记录{unit}的工作动态。{unit}本周（{monday} 至 {sunday}）已有 {count} 条动态。"
        }
        K::UpdateChooseUnit => {
            "您为多个单位报送动态。这条动态属于哪个单位？请点下方按钮选择（发送 /cancel 取消）。"
        }
        K::UpdateUnitChosen => "已选择：{unit}",
        K::UpdateNotYourUnit => "您不是该单位的动态报送员，这条动态没有记录。",
        K::UpdateTooLong => "这条动态有 {chars} 个字，超过了 {max} 字的上限。请精简后重新发送。",
        K::UpdateUnsupported => {
            "工作动态只能是文字或照片（可多张）。视频、语音、文件、位置等不能作为动态，请改发文字或照片。"
        }
        K::UpdateEdited => "已按修改更新了这条工作动态。",
        K::UpdateNudge => {
            "提醒：{unit}本周（{monday} 起）还没有工作动态。每周至少报送一条，发送 /update 加内容即可。"
        }
        K::FeedHeader => "最新工作动态（第 {from}–{to} 条）：",
        K::FeedHeaderUnit => "{unit}的工作动态（第 {from}–{to} 条）：",
        K::FeedItem => "{date} {unit}：{line}",
        K::FeedPhotos => "[图片×{n}]",
        K::FeedEmpty => "还没有工作动态。",
        K::FeedUnknownUnit => {
            "没有找到名为“{unit}”的单位。请写单位名称或全路径，例如 /feed 乌当区。"
        }
        K::FeedMore => "更多 ▸",
        K::FeedNoMore => "没有更早的动态了。",
        K::ShareNotSetUp => "分享功能还没有开通（没有配置交流群），请联系管理员。",
        K::ShareNoReceipt => {
            "请在对话里找到您要分享的那条记实的回执，回复（引用）它并发送 /share。"
        }
        K::ShareNotYours => "这条回执记的不是您的记实；只能分享自己的记实。",
        K::ShareAlready => "这条记实已经分享过了，不会重复发送。",
        K::ShareDone => {
            "已把第 {seq} 条记实（{date}）分享到交流群。有新的评论或点赞时，每天晚上汇总告诉您一次。"
        }
        K::SharedHeader => "【{name} · {village}】驻村记实 · {date}",
        K::ShareDigest => "您分享的记实有新的互动：{comments} 条评论，{reactions} 个点赞。",
        K::ShareDigestComment => "· {name}：{text}",
        K::ChannelRefused => {
            "机器人无法在{channel}（{chat}）发帖：{error}。请把机器人重新加入{channel}并设为管理员。已记录的内容都保留着，不会丢失；在恢复之前不会再提醒。"
        }
        K::ChannelBulletin => "动态频道",
        K::ChannelSharing => "交流群",
        K::ChannelRemoved => "机器人被移出或失去了权限",
        K::AlertChoiceExpired => "这个选择已经过期了。",
        K::CmdPolicy => "查政策文件：/policy 关键词（只发 /policy 列出最新 10 份）",
        K::CmdPolicyAdd => {
            "（管理员）添加政策文件：按提示发送 PDF、DOCX 或 TXT；也可直接发送文件，说明写 #policy 标题 | 发文机关 | 日期"
        }
        K::CmdPolicyDel => "（管理员）删除政策文件：/policy_del 编号",
        K::RosterNotAdmin => "只有管理员可以导入名单，名单没有改动。",
        K::RosterNoFile => {
            "#roster 要和名单文件一起发送：请发送 XLSX 或 CSV 文件，并在文件说明里写 #roster。"
        }
        K::RosterTooLarge => {
            "名单文件超过 {max} MB，无法下载。请拆分后发送，或在服务器上用 zhucun import 导入。"
        }
        K::RosterUnreadable => {
            "无法读取名单文件：{reason}。请发送 XLSX（读取第一个工作表）或 CSV（UTF-8 或 GB18030）文件。名单没有改动。"
        }
        K::RosterInvalid => "名单有 {n} 处错误，没有导入任何内容：\n{errors}\n请改正后重新发送。",
        K::RosterMoreErrors => "……还有 {n} 处",
        K::RosterPreview => "名单预览（{file}，{rows} 人）：",
        K::RosterPreviewHint => "以上改动尚未生效，请在 {minutes} 分钟内确认。",
        K::RosterCounts => {
            "新增 {added} 人，更新 {updated} 人，不变 {unchanged} 人，停用 {deactivated} 人；新建单位 {units} 个。"
        }
        K::RosterAddedNames => "新增：{names}",
        K::RosterUpdatedNames => "更新：{names}",
        K::RosterDeactivatedNames => "停用：{names}",
        K::RosterMoreNames => "{names} 等 {n} 人",
        K::RosterConfirmButton => "确认导入",
        K::RosterConfirmAgainButton => "确认停用并导入",
        K::RosterCancelButton => "取消",
        K::RosterConfirmAgain => {
            "⚠️ 此次导入将停用 {n} 人，占现有在册 {active} 人的 {share}%（超过 {limit}%）。名单是否完整？核对无误请再次确认。"
        }
        K::RosterImported => "名单已导入：",
        K::RosterCancelled => "已取消，名单没有改动。",
        K::RosterUploadGone => "找不到这份名单，请重新发送文件。",
        K::RosterUploadDone => "这份名单已经导入或取消过了。",
        K::RosterUploadExpired => "这份名单的预览已超过 {minutes} 分钟，请重新发送文件。",
        K::PolicyNotAdmin => {
            "只有管理员可以管理政策文件库，您的文件没有添加。查找政策文件请发送 /policy 关键词。"
        }
        K::PolicyAddPrompt => {
            "请发送政策文件（PDF、DOCX 或 TXT，不超过 20 MB）。可以在文件说明里写：标题 | 发文机关 | 日期（YYYY-MM-DD）；不写则以文件名为标题。发送“取消”结束。"
        }
        K::PolicyAddNeedsFile => "请发送一个文件（PDF、DOCX 或 TXT）。发送“取消”结束。",
        K::PolicyNoTitle => {
            "请在 #policy 后写上文件标题，例如：#policy 贵州省农村居民最低生活保障工作规程 | 贵州省民政厅 | 2021-06-30。文件没有添加。"
        }
        K::PolicyBadDate => {
            "日期“{date}”看不懂，请写成 YYYY-MM-DD，例如 2021-06-30。文件没有添加。"
        }
        K::PolicyTitleTooLong => "标题或发文机关太长（最多 {max} 字）。文件没有添加。",
        K::PolicyNoFile => {
            "#policy 要和文件一起发送：请发送 PDF、DOCX 或 TXT 文件，并在文件说明里写 #policy 标题。"
        }
        K::PolicyTooLarge => {
            "文件有 {size} MB，超过机器人接口 {max} MB 的下载上限（Telegram 云端接口最多 20 MB），没有添加。请压缩或拆分后再发；需要更大的文件时，可请运维改用自建的 Bot API 服务器。"
        }
        K::PolicyUnsupported => {
            "只能添加 PDF、DOCX 或 TXT 文件（旧版 .doc 请另存为 .docx）。文件没有添加。"
        }
        K::PolicyEncrypted => {
            "这个 PDF 设有密码保护，无法读取内容。请发送未加密的版本。文件没有添加。"
        }
        K::PolicyMalformed => {
            "文件无法读取（{reason}），可能已损坏。请检查后重新发送。文件没有添加。"
        }
        K::PolicyDownloadFailed => "文件下载失败，没有添加。请稍后重新发送。",
        K::PolicyAdded => {
            "已添加政策文件 {id}：《{title}》，索引了 {chars} 个字符的正文。大家可以发送 /policy 关键词 查找。"
        }
        K::PolicyAddedScan => {
            "已添加政策文件 {id}：《{title}》，索引了 {chars} 个字符的正文：文件中没有可提取的文字（可能是扫描件），只能按标题查找。"
        }
        K::PolicyResultsHeader => "找到 {count} 份相关的政策文件（最相关的在前），点按钮获取文件：",
        K::PolicyItem => {
            "{n}. 《{title}》（编号 {id}）
   {meta}
   {snippet}"
        }
        K::PolicyNewestHeader => {
            "最新的政策文件（共 {count} 份），点按钮获取文件；查找请发送 /policy 关键词："
        }
        K::PolicyListItem => "{n}. 《{title}》（编号 {id}）{meta}",
        K::PolicyLibraryEmpty => "政策文件库还是空的。管理员可以发送 /policy_add 添加文件。",
        K::PolicyNoMatch => {
            "没有找到与“{query}”相关的政策文件。请试试更少、更短的关键词，例如“低保”“危房改造”；只发 /policy 可看最新的文件。"
        }
        K::PolicyFileButton => "📄 {n}. {title}",
        K::PolicyNoIssuer => "发文机关未注明",
        K::PolicyDelUsage => {
            "用法：/policy_del 编号，例如 /policy_del 12。编号可在 /policy 的结果中看到。"
        }
        K::PolicyDeleted => "已删除政策文件 {id}：《{title}》。",
        K::PolicyNotFound => "没有编号为 {id} 的政策文件。发送 /policy 查看现有文件。",
        K::AlertPolicyGone => "这份文件已从政策文件库删除。",
        K::AskSimilarHeaderMixed => "以前的类似问答和相关政策文件，供参考：",
        K::AskSimilarPolicy => {
            "{n}. 政策文件《{title}》（编号 {id}）
   {snippet}"
        }
    }
}

fn en(k: K) -> &'static str {
    match k {
        K::AskContact => {
            "Hello! This is the village-work assistant. Tap “Share my phone number” below to register, or open the invite link your administrator gave you."
        }
        K::ShareContactButton => "📱 Share my phone number",
        K::NotOwnContact => {
            "Please share your own phone number with the button below, not someone else's contact."
        }
        K::NotOnRoster => {
            "The phone number {phone} is not on the roster, so it cannot be registered. Please ask the organisation department's administrator to check the roster."
        }
        K::Deactivated => {
            "Your account has been deactivated. Please contact the organisation department's administrator if this is a mistake."
        }
        K::PersonTaken => {
            "This roster entry is already linked to another Telegram account. Ask an administrator to change it."
        }
        K::AccountTaken => {
            "Your Telegram account is already linked to another roster entry. Ask an administrator if this is wrong."
        }
        K::InviteUnknown => {
            "This invite code is not valid. Check the link, or share your phone number with the button below."
        }
        K::InviteUsed => {
            "This invite code has already been used; each code works once. Share your phone number below, or ask for a new invite link."
        }
        K::InviteExpired => {
            "This invite code has expired. Share your phone number below, or ask for a new invite link."
        }
        K::Welcome => {
            "You are registered, {name}. Welcome!\nUnit: {unit}\nRoles: {roles}\n\nSend /help to see what you can do."
        }
        K::AlreadyRegistered => {
            "You are already registered ({name}). Send /help to see what you can do."
        }
        K::DbUnavailable => {
            "The system cannot save right now: your last message was NOT recorded. Please send it again in a moment."
        }
        K::Delayed => {
            "⏳ The system is delayed. Your message has arrived and will be handled as soon as it recovers; there is no need to send it again."
        }
        K::UnknownCommand => "There is no such command.",
        K::HelpHeader => "Commands:",
        K::HelpFooter => "Language: /lang zh or /lang en",
        K::LangUsage => "Usage: /lang zh (中文) or /lang en (English)",
        K::LangSet => "Language set to English.",
        K::Unsupported => {
            "This kind of message is not supported. Send /help to see what you can do."
        }
        K::CmdStart => "start / register",
        K::CmdHelp => "show help",
        K::CmdLang => "switch language (zh / en)",
        K::CmdWeb => "open the dashboard in a desktop browser",
        K::WebNotConfigured => "The web view is not set up (an admin sets web.public_url).",
        K::WebLink => {
            "Open this link in a desktop browser to see the dashboard (valid {minutes} minutes, once; do not forward it):\n{link}"
        }
        K::CmdLog => "log an earlier day: /log 2026-11-23 what you did",
        K::CmdMe => "this month's log days and subsidy days",
        K::NotCadre => "Only village cadres can post work logs.",
        K::LogReceipt => {
            "✅ Work log no. {seq} recorded\nDate: {date}\nDays with a log in {month}: {days}"
        }
        K::LogReceiptFiles => "Attachments: {files}",
        K::LogTooLong => {
            "This log has {chars} characters, more than the limit of {max}; it was not recorded. Please split it into several messages."
        }
        K::LogFileTooLarge => {
            "The file is too large ({size} MB; the limit is {max} MB); it was not recorded. Please compress it or describe the work in text."
        }
        K::LogEmpty => "This message has no content; nothing was recorded.",
        K::LogEdited => "✏️ Work log no. {seq} ({date}) updated; the earlier text is kept on file.",
        K::BackdateUsage => {
            "To log an earlier day: /log DATE TEXT, e.g. /log 2026-11-23 visited three households"
        }
        K::BackdateBadDate => {
            "I cannot read the date “{input}”. Write it as YEAR-MONTH-DAY, e.g. /log 2026-11-23 visited three households"
        }
        K::BackdateFuture => "{date} has not come yet; it cannot be logged in advance.",
        K::BackdateTooOld => {
            "Only the last {window} days can be logged late ({earliest} or later); {date} is too old."
        }
        K::BackdateNeedsText => {
            "Please write what you did after the date, e.g. /log {date} visited three households"
        }
        K::StatsToday => "Today:",
        K::StatsMonth => "This month, summed:",
        K::CmdStats => {
            "supervision: logs, leave, questions and updates per district (admins, approvers)"
        }
        K::StatsRefused => {
            "Only admins and approvers can see the figures (approvers see their own unit and below)."
        }
        K::StatsUsage => "Usage: /stats for this month, /stats 2026-11 for a past month.",
        K::StatsNotBegun => {
            "{month} has not begun; choose this month or an earlier one, e.g. /stats {example}."
        }
        K::StatsTitle => "{scope} · {month} (as of {today})",
        K::StatsTitlePast => "{scope} · {month}",
        K::StatsNoCadres => "There are no village cadres in {scope}.",
        K::ColDistrict => "district",
        K::ColActive => "act",
        K::ColLoggedToday => "tdy",
        K::ColMissingToday => "miss",
        K::ColLogDays => "logd",
        K::ColSubsidyDays => "subd",
        K::ColLeaveDays => "lvd",
        K::ColPending => "lvq",
        K::ColOpen => "q",
        K::ColUpdate => "upd",
        K::StatsLegend => {
            "act: cadres on the roster; tdy: logged today; miss: no log today (not counting leave and rest days); logd, subd: this month's log days and subsidy days; lvq: leave requests pending; q: open questions; upd: this week's update is in."
        }
        K::StatsLegendPast => {
            "act: cadres still on the roster; logd, lvd, subd: the month's log, leave and subsidy days (as in the subsidy report)."
        }
        K::StatsUnitsWithout => "Units without this week's update ({n}):\n{units}",
        K::StatsAllUpdatesIn => "Every unit that owes a weekly update has posted one.",
        K::StatsMoreUnits => "… and {n} more",
        K::Yes => "yes",
        K::No => "no",
        K::NoDuty => "-",
        K::SubsidyReportCaption => {
            "Stationing subsidy report for {month}: {n} cadres. The summary and district sheets list log days, leave days and subsidy days; in 出勤明细, 记 = counts for the subsidy, 假 = leave, 休 = rest day."
        }
        K::SubsidyFigures => {
            "{name}, your stationing subsidy figures for {month}:\nDays with a log: {log_days}\nApproved leave days: {leave_days}\nDays counted for the subsidy: {eligible_days}\n\nIf something looks wrong, ask your unit's approver."
        }
        K::WeeklyTitle => "Last week ({week}, {from} to {to}): work updates and logs",
        K::WeeklyDuty => "Work updates (at least one a week):",
        K::WeeklyNoDuty => "No unit owes a weekly work update.",
        K::WeeklyLogs => "Cadres with a log per district and day:",
        K::ColUnit => "unit",
        K::ColUpdates => "n",
        K::ColMet => "met",
        K::WeeklyChartTitle => "Cadres with a log per district and day ({week})",
        K::WeeklyChartMissingGlyphs => "The chart's font lacks “{chars}”, drawn as □.",
        K::WebAppButton => "Open the dashboard",
        K::CalendarMissing => {
            "The statutory holidays of {year} have not been imported. Until they are, only Saturdays and Sundays are rest days in {year}: reminders go out on holidays and not on make-up working weekends, and the presence records count the same way. Once the State Council publishes them, run zhucun calendar import FILE (holiday-cn JSON or TOML) on the server."
        }
        K::WeeklyChartFailed => {
            "The chart for {week} could not be drawn: {error}. The figures are in the table above."
        }
        K::WeeklyChartY => "cadres with a log",
        K::WeekdayNames => "Mo,Tu,We,Th,Fr,Sa,Su",
        K::MeSummary => {
            "{name}, your logs for {month}:\nDays with a log: {log_days}\nApproved leave days: {leave_days}\nDays counted for the stationing subsidy: {eligible_days}\n\n(Days with a log that are not leave days count for the subsidy.)"
        }
        K::RoleCadre => "village cadre",
        K::CmdLeave => "ask for leave: /leave START END REASON, or just /leave and answer",
        K::CmdLeaves => "my leave requests (cancel a pending one)",
        K::CmdPending => "leave requests waiting for my decision",
        K::CmdCancel => "cancel what you are filling in",
        K::LeaveNotCadre => "Only village cadres can ask for leave through the bot.",
        K::LeaveAskStart => {
            "From which day? Reply with a date, e.g. 12-01, 2026-12-01 or tomorrow. (/cancel to stop)"
        }
        K::LeaveAskEnd => "Start: {start}. Until which day (inclusive)? e.g. 12-03",
        K::LeaveAskReason => "{start} to {end}, {days} days. What is the reason?",
        K::LeaveUsage => {
            "To ask for leave: /leave START END REASON, e.g. /leave 12-01 12-03 caring for my sick father; or just /leave and answer the questions."
        }
        K::LeaveBadDate => {
            "I cannot read the date “{input}”. Write 2026-12-01, 12-01, today or tomorrow."
        }
        K::LeaveMissingReason => "Not submitted: please give a reason.",
        K::LeaveEndBeforeStart => "Not submitted: the end {end} is before the start {start}.",
        K::LeaveStartInPast => "Not submitted: the start {start} is in the past.",
        K::LeaveTooLong => "Not submitted: {days} days is more than the maximum of {max} days.",
        K::LeaveOverlaps => "Not submitted: it overlaps your leave from {start} to {end}.",
        K::LeaveNoApprover => {
            "Not submitted: no approver is registered for your unit or above. Please contact the administrator."
        }
        K::LeaveSubmitted => {
            "Leave request #{id} submitted: {start} to {end}, {days} days.\nApproval: {chain}\nYou will be told the decision; /leaves shows or cancels it."
        }
        K::LeaveCard => {
            "📝 Leave request #{id}\nFrom: {name} ({unit})\nDates: {start} to {end}, {days} days\nReason: {reason}\nApproval: {chain}"
        }
        K::LeaveCardAsk => "Your decision ({level}):",
        K::LeaveCardApproved => "✅ Approved by {by}",
        K::LeaveCardRejected => "❌ Rejected by {by}",
        K::LeaveCardCancelled => "Cancelled by the applicant",
        K::LeaveCardEscalated => "({levels} had no approver; passed up)",
        K::LeaveForwarded => {
            "Your leave request #{id} ({start} to {end}) was approved at {done} level and passed on to {next}."
        }
        K::LeaveApproved => {
            "✅ Your leave request #{id} ({start} to {end}, {days} days) is approved."
        }
        K::LeaveRejected => {
            "❌ Your leave request #{id} ({start} to {end}) was rejected.\nReason: {reason}\nAsk the approver if anything is unclear."
        }
        K::LeaveListEmpty => "You have no leave requests. Send /leave to ask for leave.",
        K::LeaveListHeader => "Your recent leave requests:",
        K::LeaveListItem => "#{id} {start} to {end} ({days} days) {status}",
        K::LeaveCancelButton => "Cancel #{id}",
        K::LeaveCancelled => "Leave request #{id} is cancelled; the approvers' cards say so too.",
        K::LeaveNotPending => "Leave request #{id} is no longer pending and cannot be cancelled.",
        K::ApproveButton => "Approve",
        K::RejectButton => "Reject",
        K::AlertApproved => "Approved.",
        K::AlertForwarded => "Approved; passed on to the next level.",
        K::AlertRejected => "Rejected.",
        K::AlertNotYours => "You have no authority over this request.",
        K::AlertAlreadyDecided => "This request was already handled ({by}).",
        K::AlertNotFound => "This request does not exist.",
        K::AlertStaleButton => "This button is no longer valid.",
        K::AlertRegisterFirst => "Please register in a private chat first.",
        K::AskRejectReason => {
            "Reply with the reason for rejecting leave request #{id} (the applicant will see it):"
        }
        K::RejectReasonEmpty => "Please write a reason (/cancel to stop).",
        K::RejectDone => "Leave request #{id} rejected; the applicant has been told why.",
        K::PendingEmpty => "No leave requests are waiting for your decision.",
        K::PendingHeader => "{count} leave request(s) waiting for your decision:",
        K::NothingToCancel => "There is nothing to cancel.",
        K::DialogueCancelled => "Cancelled.",
        K::StatusPending => "pending",
        K::StatusApproved => "approved",
        K::StatusRejected => "rejected",
        K::StatusCancelled => "cancelled",
        K::LevelTownship => "township",
        K::LevelCounty => "county",
        K::LevelCity => "city",
        K::LevelVillage => "village",
        K::RoleApprover => "approver",
        K::RoleTutor => "tutor",
        K::RoleReporter => "reporter",
        K::RoleAdmin => "administrator",
        K::CmdAsk => {
            "ask a tutor: /ask QUESTION (or a photo with the question as caption), or just /ask"
        }
        K::CmdQuestions => "my questions; for tutors: questions waiting for my answer",
        K::AskNotCadre => "Only village cadres can ask questions through the bot.",
        K::AskPrompt => {
            "Send your question: text, or a photo with the question as its caption. (/cancel to stop)"
        }
        K::AskNeedsText => {
            "Please write the question in words; with a photo, put the question in its caption. (/cancel to stop)"
        }
        K::AskTooLong => {
            "The question has {chars} characters, more than the limit of {max}; it was not sent. Please shorten it."
        }
        K::AskChooseTopic => "Choose the topic of your question; it goes to a tutor of that topic:",
        K::AskSubmitted => {
            "✅ Question #{id} ({topic}) sent to tutor {tutor} ({unit}).\nThe answer will come as a reply to your question; reply to the answer to ask more."
        }
        K::AskSubmittedAdmin => {
            "✅ Question #{id} ({topic}) sent. No tutor covers this topic, so it went to the administrator {tutor}, who will answer it or pass it to a suitable tutor.\nThe answer will come as a reply to your question."
        }
        K::AskNoTutor => {
            "No tutor can take the question right now; it was not sent. Choose the topic again later, or contact the administrator."
        }
        K::AskSimilarHeader => "Similar questions answered before, for reference:",
        K::AskSimilarItem => "{n}. {question}\n   Answer: {answer}",
        K::AskAlreadySubmitted => "This question has already been sent.",
        K::QuestionCard => {
            "❓ Question #{id} ({topic})\nFrom: {name} ({unit})\nAsked: {time}\n\n{text}"
        }
        K::CardAttachment => "{kind} attachment in the next message",
        K::CardHistory => "The conversation so far:",
        K::CardViaDefault => "(No tutor covers this topic; it comes to you as the default tutor.)",
        K::CardViaAdmin => {
            "(No tutor covers this topic, so it comes to you as an administrator: answer it, or tap “Pass on” to give it to a suitable tutor.)"
        }
        K::CardPassedBy => "(Passed on to you by {by}.)",
        K::CardReassigned => {
            "(The previous tutor did not answer within {hours} hours; it is yours now.)"
        }
        K::CardAsk => {
            "Reply to this message to answer (text, photo, voice or file); the answer goes to the person who asked."
        }
        K::CardAnswered => {
            "✅ Answered. Follow-up questions will arrive here; reply to them to continue."
        }
        K::CardPassedAway => "➡️ Passed on to {to}.",
        K::CardReassignedAway => "➡️ Not answered in time; reassigned to {to}.",
        K::PassButton => "Pass on",
        K::QuestionReminder => {
            "⏰ Question #{id} ({topic}) has waited {hours} hours for your answer:\n\n{text}\n\nReply to this message to answer; if it is not for you, tap “Pass on” on the question card."
        }
        K::QuestionOverdue => {
            "⏰ Question #{id} ({topic}) has waited {hours} hours and no other tutor can take it. Please reply to this message with an answer soon:\n\n{text}"
        }
        K::QuestionPassedNote => "Your question #{id} ({topic}) was passed on to tutor {tutor}.",
        K::QuestionReassignedNote => {
            "Your question #{id} ({topic}) waited too long and now goes to tutor {tutor}."
        }
        K::QuestionRatedHelpful => "👍 {name} found your answer to question #{id} helpful.",
        K::QuestionRatedUnhelpful => {
            "{name} did not find your answer to question #{id} helpful. You can reply to the question card to add more."
        }
        K::RateHelpful => "👍 Helpful",
        K::RateUnhelpful => "👎 Not helpful",
        K::RateChosen => "✅ {label}",
        K::RateThanks => "Thank you for rating!",
        K::PassMenu => {
            "Pass question #{id} on to whom? Choose a topic (a tutor of it is found for you) or a tutor:"
        }
        K::PassNothing => "There is no other topic or tutor to pass it on to.",
        K::PassTopicButton => "Topic: {topic}",
        K::PassTutorButton => "👤 {name} ({unit})",
        K::PassDone => {
            "Question #{id} passed on to {tutor} ({topic}); the person who asked has been told."
        }
        K::RelayDone => "✅ Sent to {name}.",
        K::RelayFailed => "Could not deliver this to {name}; please send it again in a moment.",
        K::ReplyUnknown => {
            "The message you replied to belongs to no question, so this message was not passed on and not recorded as a work log.\n· To ask: /ask QUESTION\n· To answer or follow up: reply to the question card or to a relayed message\n· To log work: send it without replying to anything"
        }
        K::ReplyNotAssigned => {
            "This question is now handled by {tutor}; your message was not passed on."
        }
        K::ReplyNotSubmitted => {
            "This question has no topic yet: tap one of the topic buttons first."
        }
        K::AlertQuestionNotYours => "This is not your question.",
        K::AlertNotAnswered => "The question has no answer yet to rate.",
        K::AlertNotAssigned => "This question is handled by {tutor}; you cannot act on it.",
        K::AlertSameTutor => "The question is with that tutor already.",
        K::AlertNotATutor => "That person is not an active tutor.",
        K::QuestionsEmpty => "You have not asked any questions. Send /ask to ask one.",
        K::QuestionsHeader => "Your recent questions:",
        K::QuestionsItem => "#{id} {topic} · {status} · {text}",
        K::QuestionsTutorHeader => {
            "Questions waiting for your answer (reply to the question card to answer):"
        }
        K::QuestionsTutorItem => "#{id} {topic} · {name} · waiting {hours} h · {text}",
        K::QuestionsTutorEmpty => "No questions are waiting for your answer.",
        K::QStatusDraft => "no topic yet",
        K::QStatusOpen => "waiting for an answer",
        K::QStatusAnswered => "answered",
        K::KindPhoto => "[photo]",
        K::KindVoice => "[voice]",
        K::KindVideo => "[video]",
        K::KindDocument => "[file]",
        K::KindOther => "[attachment]",
        K::CancelWords => "cancel",
        K::CmdRemind => "daily log reminder: /remind off to stop, /remind on to restart",
        K::RemindUsage => {
            "Send /remind off to stop the evening log reminder, /remind on to restart it."
        }
        K::RemindOn => {
            "Reminders are on: on a day without a log you get one reminder in the evening."
        }
        K::RemindOff => "The evening log reminder is off. Send /remind on to restart it.",
        K::DigestHeader => {
            "{count} leave requests have waited for your decision past the reminder time (oldest first):"
        }
        K::DigestItem => "#{id} {name}: {start} to {end}, {days} days. Reason: {reason}",
        K::DigestApprove => "Approve #{id}",
        K::DigestReject => "Reject #{id}",
        K::LogReminder => {
            "Hello, there is no work log from you for today ({date}) yet; a short text or a photo is enough.\nDays with a log in {month}: {days}\n(To stop these reminders, send /remind off.)"
        }
        K::BulletinHeader => "[{unit}] Work update · {date}",
        K::CmdUpdate => {
            "post your unit's work update (reporters): /update TEXT, or photos captioned /update"
        }
        K::CmdFeed => "latest work updates; /feed UNIT for one unit",
        K::CmdShare => "reply /share to one of your log receipts to share it in the group",
        K::UpdateNotReporter => {
            "Only reporters may post work updates: the staff of a district's (or city unit's) organisation department listed on the roster with the role “reporter”. Ask an administrator if you should be one."
        }
        K::UpdatePrompt => {
            "Send the work update now: a text, or photos with a caption (an album is fine). Send /cancel to stop."
        }
        K::UpdateRecorded => {
            "Work update of {unit} recorded. {unit} has {count} updates this week ({monday} to {sunday})."
        }
        K::UpdateChooseUnit => {
            "You report for several units. Which unit is this update for? Tap a button below (or send /cancel)."
        }
        K::UpdateUnitChosen => "Chosen: {unit}",
        K::UpdateNotYourUnit => "You are not a reporter of that unit; the update was not recorded.",
        K::UpdateTooLong => {
            "This update has {chars} characters; the limit is {max}. Please shorten it and send it again."
        }
        K::UpdateUnsupported => {
            "A work update is a text or photos (an album is fine). Videos, voice, files or locations cannot be updates; send text or photos instead."
        }
        K::UpdateEdited => "The work update now reads as edited.",
        K::UpdateNudge => {
            "Reminder: {unit} has no work update this week (from {monday}) yet. One a week is the rule; send /update with the brief."
        }
        K::FeedHeader => "Latest work updates ({from}–{to}):",
        K::FeedHeaderUnit => "Work updates of {unit} ({from}–{to}):",
        K::FeedItem => "{date} {unit}: {line}",
        K::FeedPhotos => "[{n} photos]",
        K::FeedEmpty => "No work updates yet.",
        K::FeedUnknownUnit => {
            "There is no unit named “{unit}”. Write the unit's name or full path, e.g. /feed 乌当区."
        }
        K::FeedMore => "More ▸",
        K::FeedNoMore => "There are no earlier updates.",
        K::ShareNotSetUp => {
            "Sharing is not set up (no sharing group is configured); ask an administrator."
        }
        K::ShareNoReceipt => {
            "Find the receipt of the log you want to share, reply to it, and send /share."
        }
        K::ShareNotYours => "That receipt is of someone else's log; you can share only your own.",
        K::ShareAlready => "That log is shared already; it is not posted twice.",
        K::ShareDone => {
            "Log no. {seq} ({date}) is shared in the group. New comments and reactions are summed up for you once a day."
        }
        K::SharedHeader => "[{name} · {village}] Work log · {date}",
        K::ShareDigest => "Your shared logs have news: {comments} comments, {reactions} reactions.",
        K::ShareDigestComment => "· {name}: {text}",
        K::ChannelRefused => {
            "The bot cannot post to {channel} ({chat}): {error}. Add the bot back to {channel} as an administrator. Everything recorded is kept; you are not told again until then."
        }
        K::ChannelBulletin => "the bulletin channel",
        K::ChannelSharing => "the sharing group",
        K::ChannelRemoved => "the bot was removed or lost its rights",
        K::AlertChoiceExpired => "This choice has expired.",
        K::CmdPolicy => {
            "Look up policy documents: /policy KEYWORDS (/policy alone lists the newest 10)"
        }
        K::CmdPolicyAdd => {
            "(admin) Add a policy document: send a PDF, DOCX or TXT when asked, or send it with the caption #policy TITLE | ISSUER | YYYY-MM-DD"
        }
        K::CmdPolicyDel => "(admin) Remove a policy document: /policy_del NUMBER",
        K::RosterNotAdmin => "Only admins import the roster; nothing was changed.",
        K::RosterNoFile => {
            "Send #roster with the roster file: an XLSX or CSV file with #roster as its caption."
        }
        K::RosterTooLarge => {
            "The roster file is over {max} MB and cannot be downloaded. Split it, or import it on the server with zhucun import."
        }
        K::RosterUnreadable => {
            "The roster file cannot be read: {reason}. Send an XLSX (its first sheet is read) or CSV (UTF-8 or GB18030) file. Nothing was changed."
        }
        K::RosterInvalid => {
            "The roster has {n} error(s); nothing was imported:\n{errors}\nCorrect them and send the file again."
        }
        K::RosterMoreErrors => "… and {n} more",
        K::RosterPreview => "Roster preview ({file}, {rows} people):",
        K::RosterPreviewHint => "Nothing has changed yet: confirm within {minutes} minutes.",
        K::RosterCounts => {
            "{added} added, {updated} updated, {unchanged} unchanged, {deactivated} deactivated; {units} new units."
        }
        K::RosterAddedNames => "Added: {names}",
        K::RosterUpdatedNames => "Updated: {names}",
        K::RosterDeactivatedNames => "Deactivated: {names}",
        K::RosterMoreNames => "{names} and others, {n} in all",
        K::RosterConfirmButton => "Import",
        K::RosterConfirmAgainButton => "Deactivate and import",
        K::RosterCancelButton => "Cancel",
        K::RosterConfirmAgain => {
            "⚠️ This import deactivates {n} of the {active} people on the roster ({share}%, over {limit}%). Is the file complete? If so, confirm once more."
        }
        K::RosterImported => "The roster was imported:",
        K::RosterCancelled => "Cancelled; the roster is unchanged.",
        K::RosterUploadGone => "This roster file is not found; send it again.",
        K::RosterUploadDone => "This roster file was already imported or cancelled.",
        K::RosterUploadExpired => {
            "This preview is over {minutes} minutes old; send the file again."
        }
        K::PolicyNotAdmin => {
            "Only admins manage the policy library; your file was not added. To look documents up, send /policy KEYWORDS."
        }
        K::PolicyAddPrompt => {
            "Send the policy document (PDF, DOCX or TXT, at most 20 MB). Its caption may say: TITLE | ISSUER | YYYY-MM-DD; without one the file name is the title. Send \"cancel\" to stop."
        }
        K::PolicyAddNeedsFile => "Please send a file (PDF, DOCX or TXT). Send \"cancel\" to stop.",
        K::PolicyNoTitle => {
            "Write the document's title after #policy, e.g. #policy 贵州省农村居民最低生活保障工作规程 | 贵州省民政厅 | 2021-06-30. The file was not added."
        }
        K::PolicyBadDate => {
            "The date \"{date}\" is not understood; write it as YYYY-MM-DD, e.g. 2021-06-30. The file was not added."
        }
        K::PolicyTitleTooLong => {
            "The title or issuer is too long (at most {max} characters). The file was not added."
        }
        K::PolicyNoFile => {
            "#policy goes with a file: send a PDF, DOCX or TXT file with the caption #policy TITLE."
        }
        K::PolicyTooLarge => {
            "The file has {size} MB, over the bot's download limit of {max} MB (Telegram's cloud Bot API allows 20 MB); it was not added. Compress or split it; for larger files the operators can run a self-hosted Bot API server."
        }
        K::PolicyUnsupported => {
            "Only PDF, DOCX and TXT files can be added (save an old .doc as .docx). The file was not added."
        }
        K::PolicyEncrypted => {
            "This PDF is password-protected and cannot be read. Send an unencrypted copy. The file was not added."
        }
        K::PolicyMalformed => {
            "The file cannot be read ({reason}); it may be damaged. Check it and send it again. The file was not added."
        }
        K::PolicyDownloadFailed => {
            "The file could not be downloaded and was not added. Please send it again later."
        }
        K::PolicyAdded => {
            "Policy document {id} added: 《{title}》, {chars} characters of text indexed. Anyone can find it with /policy KEYWORDS."
        }
        K::PolicyAddedScan => {
            "Policy document {id} added: 《{title}》, {chars} characters of text indexed: the file has no extractable text (perhaps a scan), so it can be found by its title only."
        }
        K::PolicyResultsHeader => {
            "{count} matching policy documents (best first); press a button to get the file:"
        }
        K::PolicyItem => {
            "{n}. 《{title}》 (no. {id})
   {meta}
   {snippet}"
        }
        K::PolicyNewestHeader => {
            "The newest policy documents ({count} in all); press a button to get the file; to search send /policy KEYWORDS:"
        }
        K::PolicyListItem => "{n}. 《{title}》 (no. {id}) {meta}",
        K::PolicyLibraryEmpty => {
            "The policy library is empty. Admins add documents with /policy_add."
        }
        K::PolicyNoMatch => {
            "No policy document matches \"{query}\". Try fewer, shorter keywords, e.g. 低保 or 危房改造; /policy alone lists the newest documents."
        }
        K::PolicyFileButton => "📄 {n}. {title}",
        K::PolicyNoIssuer => "issuer not given",
        K::PolicyDelUsage => {
            "Usage: /policy_del NUMBER, e.g. /policy_del 12. The numbers are shown by /policy."
        }
        K::PolicyDeleted => "Policy document {id} removed: 《{title}》.",
        K::PolicyNotFound => {
            "There is no policy document number {id}. Send /policy to see the documents."
        }
        K::AlertPolicyGone => "This document has been removed from the policy library.",
        K::AskSimilarHeaderMixed => "Similar answers and policy documents, for reference:",
        K::AskSimilarPolicy => {
            "{n}. Policy document 《{title}》 (no. {id})
   {snippet}"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill("{a} and {b}, {a}", &[("a", "x"), ("b", "y")]),
            "x and y, x"
        );
    }

    #[test]
    fn fill_never_rescans_what_it_inserted() {
        let cases = [
            (
                "原因：{reason}，审批：{chain}",
                &[("reason", "{chain}"), ("chain", "乡镇")][..],
                "原因：{chain}，审批：乡镇",
            ),
            ("{a}{b}", &[("a", "{b}"), ("b", "x")][..], "{b}x"),
            ("{ {a} }", &[("a", "1")][..], "{ 1 }"),
            ("no placeholders {", &[][..], "no placeholders {"),
            (
                "{start} 已经过去",
                &[("start", "2000-01-01")][..],
                "2000-01-01 已经过去",
            ),
            ("多字节 {x}，完", &[("x", "值")][..], "多字节 值，完"),
        ];
        for (template, values, want) in cases {
            assert_eq!(fill(template, values), want, "{template}");
        }
    }

    #[test]
    fn every_key_has_the_same_placeholders_in_both_languages() {
        for &k in K::ALL {
            let (zh, en) = (tr(Lang::Zh, k), tr(Lang::En, k));
            assert!(!zh.is_empty() && !en.is_empty(), "{k:?} is empty");
            assert_eq!(
                placeholders(zh),
                placeholders(en),
                "{k:?}: {zh:?} vs {en:?}"
            );
        }
    }

    #[test]
    fn cancel_words_of_either_language_stop_a_dialogue() {
        for w in ["取消", "cancel", "Cancel", " 取消 ", "CANCEL"] {
            assert!(is_cancel_word(w), "{w}");
        }
        for w in ["取消请假的原因是家里有事", "cancelled", "", "明天", "stop"] {
            assert!(!is_cancel_word(w), "{w}");
        }
    }

    #[test]
    fn role_names_join_per_language() {
        let roles = Roles::parse_list("approver;reporter").unwrap();
        assert_eq!(role_names(Lang::Zh, roles), "审批人、动态报送员");
        assert_eq!(role_names(Lang::En, roles), "approver, reporter");
    }
}
