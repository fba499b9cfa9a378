import { createI18n } from 'vue-i18n'

// zh-CN first: the people who use it; English for visitors and reviewers.
export const messages = {
  'zh-CN': {
    app: { title: '红色物业工作台', resident: '居民服务', logout: '退出', language: 'English', skip: '跳到主要内容' },
    login: {
      title: '登录', username: '用户名', password: '密码', submit: '登录', key: 'API 密钥', withKey: '使用 API 密钥登录',
      withPassword: '使用账号密码登录', failed: '登录失败：{message}', noSession: '此网关尚未开放账号登录，请使用 API 密钥',
      oidc: '使用统一身份认证登录', oidcNamed: '使用{name}登录', or: '或',
      oidcError: {
        denied: '您在统一身份认证页面取消了登录。', state: '登录请求无效或已使用，请重新点击登录。', expired: '登录用时过长，请重新登录。',
        provider: '统一身份认证未能完成登录，请稍后再试。', token: '统一身份认证拒绝了本次登录，请重新登录。',
        id_token: '统一身份认证返回的身份凭证无效，请联系管理员。', unknown_person: '您的统一身份认证账号未登记为本区人员，请联系管理员。',
        disabled: '您在本系统的账号已停用，请联系管理员。',
        unavailable: '统一身份认证暂时无法访问，请稍后再试。', other: '统一身份认证登录失败（{code}）。',
      },
    },
    nav: { inbox: '工单收件箱', summary: '月度问题汇总', consultations: '业主协商', cases: '矛盾调解', ratings: '星级评定', rates: '三率统计' },
    sla: { on_track: '正常', at_risk: '临期', breached: '超时', response: '响应', resolution: '办结', left: '剩余 {time}', overdue: '已超 {time}', none: '—' },
    duration: { dhm: '{d}天{h}小时', hm: '{h}小时{m}分' },
    status: { submitted: '待派单', dispatched: '已派单', in_progress: '处理中', awaiting_resident: '待居民答复', resolved: '已办结', closed: '已关闭', cancelled: '已撤销' },
    level: { grid: '网格', community: '社区', subdistrict: '街道', district: '区' },
    ticket: {
      id: '工单号', category: '类别', description: '问题描述', building: '楼栋', complex: '小区', grid: '网格', level: '层级', status: '状态',
      sla: '时限', submitted: '提交时间', handler: '承办单位', history: '处理记录', cost: '费用', fund: '资金来源', rating: '评价',
      noRating: '尚未评价', dispatch: '派单', escalate: '上报', note: '备注', transfer: '转办', close: '关闭', accept: '接单', resolve: '办结',
      rate: '确认并评价', reopen: '不满意，重新办理', reason: '原因', summary: '办理情况', handlerId: '承办单位编号', handlerKind: '单位类型',
      auto: '按路由自动派单', done: '已完成', all: '全部', filter: '筛选', refresh: '刷新', empty: '没有工单', open: '打开',
      property_company: '物业公司', department: '职能部门', comment: '评语', stars: '星', fundNames: { company: '物业公司', resident: '居民自付', emergency_repair_fund: '维修资金', public_budget: '财政', none: '无' },
    },
    summary: { title: '{complex} {month} 月度问题汇总', month: '月份', received: '本月受理', open: '未办结', resolved: '已办结', recurring: '反复出现', fund: '维修资金支出', print: '打印', load: '查询', agenda: '议题' },
    consult: { id: '协商编号', load: '查看', question: '议题', participation: '参与情况', area: '按专有面积', headcount: '按人数', line: '三分之二', reached: '已达到', notReached: '未达到', result: '结果', passed: '通过', failed: '未通过', electorate: '表决范围', households: '户', owners: '业主', state: '状态', live: '实时更新' },
    cases: { title: '调解案件', summary: '案由', state: '状态', settleBy: '调解期限', daysLeft: '剩 {n} 天', overdue: '已超期', parties: '当事人', agreement: '调解协议' },
    ratings: { title: '星级评定队列', company: '物业公司', year: '年度', state: '环节', stars: '星级', steps: '评定过程', total: '得分', explain: '逐项说明' },
    rates: { title: '三率', response: '响应率', resolution: '办结率', satisfaction: '满意率', byGroup: '按{group}' },
    resident: {
      title: '我要报事', report: '报告问题', category: '问题类别', complex: '所在小区', building: '楼栋', description: '请描述问题',
      submit: '提交', submitted: '已提交，工单号 {id}', mine: '我的工单', confirm: '确认并评价', reopen: '重新办理', back: '返回',
      myHome: '我的房屋', elsewhere: '或选择其他小区和楼栋',
    },
    photos: {
      label: '照片', add: '拍照或选择照片', title: '照片', preview: '照片 {n}', remove: '删除照片 {n}', limits: '最多 {n} 张，每张不超过 {mb} MB（JPG、PNG、WebP）',
      type: '{name} 不是 JPG、PNG 或 WebP 照片', size: '{name} 超过 {mb} MB', count: '最多 {n} 张照片', failed: '照片加载失败', uploadFailed: '照片上传失败：{message}',
      delete: '删除照片 {n}', deleteShort: '删除', confirmDelete: '确定删除照片 {n}？删除后无法恢复。', deleteFailed: '照片未删除：{message}',
    },
    error: { forbidden: '您的角色不能查看此页面', notFound: '没有找到', required: '请填写{field}', generic: '操作失败：{message}' },
    common: { save: '确定', cancel: '取消', loading: '加载中…', yes: '是', no: '否' },
  },
  en: {
    app: { title: 'Red Property Workbench', resident: 'Resident services', logout: 'Log out', language: '中文', skip: 'Skip to main content' },
    login: {
      title: 'Log in', username: 'Username', password: 'Password', submit: 'Log in', key: 'API key', withKey: 'Log in with an API key',
      withPassword: 'Log in with username and password', failed: 'Login failed: {message}', noSession: 'This gateway has no account login yet; use an API key',
      oidc: 'Log in with unified identity', oidcNamed: 'Log in with {name}', or: 'or',
      oidcError: {
        denied: 'You cancelled the login at the identity provider.', state: 'This login request is invalid or was used already; click the button again.',
        expired: 'The login took too long; please start again.', provider: 'The identity provider could not complete the login; try again later.',
        token: 'The identity provider refused this login; please start again.', id_token: 'The identity provider sent an invalid identity token; contact your administrator.',
        unknown_person: 'Your identity provider account is not registered as a person of this district; contact your administrator.',
        disabled: 'Your account here is disabled; contact your administrator.',
        unavailable: 'The identity provider cannot be reached; try again later.', other: 'Logging in with the identity provider failed ({code}).',
      },
    },
    nav: { inbox: 'Ticket inbox', summary: 'Monthly summary', consultations: 'Consultations', cases: 'Mediation', ratings: 'Star ratings', rates: 'The three rates' },
    sla: { on_track: 'On track', at_risk: 'At risk', breached: 'Breached', response: 'response', resolution: 'resolution', left: '{time} left', overdue: '{time} overdue', none: '—' },
    duration: { dhm: '{d}d {h}h', hm: '{h}h {m}m' },
    status: { submitted: 'Submitted', dispatched: 'Dispatched', in_progress: 'In progress', awaiting_resident: 'Awaiting resident', resolved: 'Resolved', closed: 'Closed', cancelled: 'Cancelled' },
    level: { grid: 'Grid', community: 'Community', subdistrict: 'Subdistrict', district: 'District' },
    ticket: {
      id: 'Ticket', category: 'Category', description: 'Description', building: 'Building', complex: 'Complex', grid: 'Grid', level: 'Level', status: 'Status',
      sla: 'SLA', submitted: 'Submitted', handler: 'Handler', history: 'History', cost: 'Cost', fund: 'Funded by', rating: 'Rating',
      noRating: 'Not rated yet', dispatch: 'Dispatch', escalate: 'Escalate', note: 'Note', transfer: 'Transfer', close: 'Close', accept: 'Accept', resolve: 'Resolve',
      rate: 'Confirm and rate', reopen: 'Not satisfied: reopen', reason: 'Reason', summary: 'What was done', handlerId: 'Handler id', handlerKind: 'Handler kind',
      auto: 'Route automatically', done: 'Done', all: 'All', filter: 'Filter', refresh: 'Refresh', empty: 'No tickets', open: 'Open',
      property_company: 'Property company', department: 'Department', comment: 'Comment', stars: 'stars', fundNames: { company: 'Company', resident: 'Resident', emergency_repair_fund: 'Repair fund', public_budget: 'Public budget', none: 'None' },
    },
    summary: { title: '{complex}: problems of {month}', month: 'Month', received: 'Received', open: 'Open', resolved: 'Resolved', recurring: 'Recurring', fund: 'Repair fund spent', print: 'Print', load: 'Show', agenda: 'Agenda item' },
    consult: { id: 'Consultation id', load: 'Show', question: 'Question', participation: 'Participation', area: 'By floor area', headcount: 'By headcount', line: 'two thirds', reached: 'reached', notReached: 'not reached', result: 'Result', passed: 'Passed', failed: 'Not passed', electorate: 'Electorate', households: 'households', owners: 'owners', state: 'State', live: 'Live' },
    cases: { title: 'Mediation cases', summary: 'Case', state: 'State', settleBy: 'Settle by', daysLeft: '{n} days left', overdue: 'Overdue', parties: 'Parties', agreement: 'Agreement' },
    ratings: { title: 'Star-rating queue', company: 'Company', year: 'Year', state: 'Step', stars: 'Stars', steps: 'Steps', total: 'Score', explain: 'Item by item' },
    rates: { title: 'The three rates', response: 'Response rate', resolution: 'Resolution rate', satisfaction: 'Satisfaction rate', byGroup: 'By {group}' },
    resident: {
      title: 'Report a problem', report: 'Report a problem', category: 'Category', complex: 'Complex', building: 'Building', description: 'Describe the problem',
      submit: 'Submit', submitted: 'Submitted: ticket {id}', mine: 'My tickets', confirm: 'Confirm and rate', reopen: 'Reopen', back: 'Back',
      myHome: 'My home', elsewhere: 'Or pick another complex and building',
    },
    photos: {
      label: 'Photos', add: 'Take or choose a photo', title: 'Photos', preview: 'Photo {n}', remove: 'Remove photo {n}', limits: 'Up to {n}, each at most {mb} MB (JPG, PNG, WebP)',
      type: '{name} is not a JPG, PNG or WebP photo', size: '{name} is over {mb} MB', count: 'At most {n} photos', failed: 'The photos could not be loaded', uploadFailed: 'A photo was not uploaded: {message}',
      delete: 'Delete photo {n}', deleteShort: 'Delete', confirmDelete: 'Delete photo {n}? It cannot be undone.', deleteFailed: 'The photo was not deleted: {message}',
    },
    error: { forbidden: 'Your role cannot see this page', notFound: 'Not found', required: '{field} is required', generic: 'It failed: {message}' },
    common: { save: 'OK', cancel: 'Cancel', loading: 'Loading…', yes: 'Yes', no: 'No' },
  },
}

// Issue 19's screens (transfer and merge in the inbox, matching proposals, voting on the phone), merged
// into the tables above so each screen's texts stay together here.
const screens = {
  'zh-CN': {
    app: { residentNav: '居民服务导航' },
    nav: { proposals: '供需对接' },
    merge: {
      action: '合并', title: '合并重复工单', keep: '保留的工单', submit: '合并', done: '已合并到 {id}', into: '已合并到',
    },
    match: {
      title: '供需对接方案', status: '状态', community: '社区', need: '需求', offer: '资源', quantity: '数量', why: '匹配理由',
      neededBy: '需要日期', needSide: '需求方', offerSide: '资源方', side: '代表哪一方', decision: '决定', reason: '理由',
      accept: '接受', decline: '拒绝', empty: '没有对接方案', reasonTooLong: '理由最多 {max} 个字',
      statuses: { proposed: '待确认', accepted: '已接受', declined: '已拒绝', fulfilled: '已交付', expired: '已过期', all: '全部' },
    },
    vote: {
      title: '业主表决', none: '本小区目前没有进行中的表决', closes: '截止', option: '您的选择', submit: '投票', cast: '已投票',
      voted: '您已投票：{option}（每位业主一票）', yourParts: '您的专有部分',
      notOwner: '您不是本小区的业主，不在本次表决范围内（《民法典》第二百七十八条：由业主共同决定）',
      notOpen: '本次表决未在进行中，不能投票',
      noHomes: '房屋登记中没有您作为业主的房屋，所以没有您可以参加的业主表决（《民法典》第二百七十八条：由业主共同决定）',
      back: '全部表决',
    },
  },
  en: {
    app: { residentNav: 'Resident services' },
    nav: { proposals: 'Matching' },
    merge: {
      action: 'Merge', title: 'Merge a duplicate', keep: 'Ticket to keep', submit: 'Merge', done: 'Merged into {id}', into: 'Merged into',
    },
    match: {
      title: 'Matching proposals', status: 'Status', community: 'Community', need: 'Need', offer: 'Offer', quantity: 'Quantity', why: 'Why this pair',
      neededBy: 'needed by', needSide: 'Need side', offerSide: 'Offer side', side: 'Answering for', decision: 'Decision', reason: 'Reason',
      accept: 'Accept', decline: 'Decline', empty: 'No proposals', reasonTooLong: 'A reason has at most {max} characters',
      statuses: { proposed: 'Proposed', accepted: 'Accepted', declined: 'Declined', fulfilled: 'Fulfilled', expired: 'Expired', all: 'All' },
    },
    vote: {
      title: "Owners' vote", none: 'No consultation is open in this complex', closes: 'Closes', option: 'Your choice', submit: 'Vote', cast: 'Ballot cast',
      voted: 'You voted: {option} (one ballot per owner)', yourParts: 'Your parts',
      notOwner: "You are not an owner in this complex, so not in this consultation's electorate (Civil Code Art. 278: the owners decide)",
      notOpen: 'This consultation is not open: no ballots',
      noHomes: "The registry records no home of yours as an owner, so there is no owners' vote for you (Civil Code Art. 278: the owners decide)",
      back: 'All consultations',
    },
  },
}
for (const locale of Object.keys(screens) as (keyof typeof screens)[]) {
  const into = messages[locale] as Record<string, any>
  for (const [group, texts] of Object.entries(screens[locale])) into[group] = { ...(into[group] ?? {}), ...texts }
}

export type Locale = keyof typeof messages

export function initialLocale(): Locale {
  const saved = typeof localStorage !== 'undefined' ? localStorage.getItem('redprop.locale') : null
  return saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN'
}

export function makeI18n(locale: Locale = initialLocale()) {
  return createI18n({ legacy: false, locale, fallbackLocale: 'zh-CN', messages })
}
